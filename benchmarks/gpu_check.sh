#!/usr/bin/env bash
# The GPU check: what CI cannot run, on a lent CUDA machine that has PyTorch but no network.
#
# Runs the unit tests with CUDA visible (the mixed-precision and device tests run instead of skipping), every
# lesson end to end in sample mode on the GPU (python -m coursekit.run: the README's main job, which fails
# when a FINAL METRICS floor is missed; JOBS lessons at a time, default 4), lesson 1's recipe under torchrun
# with the NCCL backend (ddp), then the loop benchmarks: fit overhead in float32, fp16 and bf16, Darknet,
# lesson 8, SSD and precomputed activations. Packages the machine lacks travel as wheels in .whl/ (see
# benchmarks/README.md); logs go to $OUT.
#
#     bash benchmarks/gpu_check.sh [unit|lessons|ddp|bench]...   (default: all four)
#
# GPU_WHEELS names the folder of carried packages (default .whl): wheels, and *.tar.xz archives of packages
# unpacked as they install (smaller to carry: spaCy's wheel holds every language, the lessons need English).
# GPU_CHECK_PYTEST_ARGS adds pytest arguments; LESSONS is the glob of notebooks (default nbs/lesson*.ipynb).
set -u
OUT=${OUT:-/tmp/gpu_check}
WHEELS=${GPU_WHEELS:-.whl}
mkdir -p "$OUT"
if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$WHEELS"/*.whl || exit 1
    for archive in "$WHEELS"/*.tar.xz; do [ -e "$archive" ] && tar xJf "$archive" -C /tmp/site; done
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export COURSEKIT_DATA=${COURSEKIT_DATA:-/tmp/coursekit-data} COURSEKIT_MODE=sample
parts=${*:-unit lessons ddp bench}
status=0

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import sys, torch, torchvision; print('python', sys.version.split()[0], '| torch', torch.__version__,
'| torchvision', torchvision.__version__, '| cuda', torch.version.cuda, '|', torch.cuda.get_device_name())"

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log it, print the wall time
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    printf '%-28s rc=%-3s %4ss\n' "$name" "$rc" "$((SECONDS - start))" | tee -a "$OUT/summary.txt"
    tail -n 4 "$OUT/$name.log"
    [ "$rc" = 0 ] || status=1
}

for part in $parts; do
    case $part in
    unit)
        step unit-tests 150 python3 -m pytest -q -p no:cacheprovider -m "not real_data and not kernel" -rs \
            --durations=5 ${GPU_CHECK_PYTEST_ARGS:-} tests ;;
    lessons)
        mkdir -p "$OUT/executed"
        python3 -m coursekit.text.pretrained >"$OUT/pretrain.log" 2>&1 || status=1  # as make nbs does
        tail -n 2 "$OUT/pretrain.log"
        for nb in ${LESSONS:-nbs/lesson*.ipynb}; do  # JOBS at a time; each prints its summary when it ends
            while [ "$(jobs -rp | wc -l)" -ge "${JOBS:-4}" ]; do wait -n; done
            (step "$(basename "$nb" .ipynb)" 240 python3 -m coursekit.run "$nb" --out "$OUT/executed"
             grep -A3 "^Done in" "$OUT/$(basename "$nb" .ipynb).log") &
        done
        wait ;;  # a failed lesson shows as rc != 0 in summary.txt, which sets the exit status below
    ddp)
        step ddp-nccl 120 torchrun --standalone --nproc_per_node=1 -m coursekit.vision.train --epochs 1 --unfrozen 1 \
            --name ddp-check ;;
    bench)
        for mp in "" fp16 bf16; do
            step "bench-fit-${mp:-fp32}" 120 python3 benchmarks/bench_fit_overhead.py --size 224 --epochs 5 \
                --repeats 2 ${mp:+--mixed-precision $mp}
        done
        step bench-darknet 150 python3 benchmarks/bench_darknet.py --minutes 0.5 --repeats 2
        step bench-lesson08 90 python3 benchmarks/bench_lesson08.py --minutes 0.3 --repeats 2
        step bench-ssd 90 python3 benchmarks/bench_ssd.py --minutes 0.3 --repeats 2
        step bench-precompute 90 python3 benchmarks/bench_precompute.py ;;
    esac
done
echo "== summary"; cat "$OUT/summary.txt"
if grep -v ' rc=0 ' "$OUT/summary.txt" | grep -q ' rc='; then status=1; fi
exit $status
