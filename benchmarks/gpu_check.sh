#!/usr/bin/env bash
# The GPU check: what CI cannot run, on a lent CUDA machine that has PyTorch but no network.
#
# Parts (default: tests bench):
#   tests    the README's test command (make test) as the machine's python3 runs it, its three parts at once:
#            the unit tests with CUDA visible (the mixed-precision and device tests run instead of skipping), the
#            real-data and kernel tests on $COURSEKIT_SHARED_DATA (each skips with its reason where data is
#            missing), and every notebook under nbval in sample mode after pretraining the text models (JOBS
#            notebooks at a time with pytest-xdist where it is installed, default 4)
#   unit     the unit tests alone
#   lessons  every lesson end to end with python -m coursekit.run (fails on a missed FINAL METRICS floor)
#   ddp      lesson 1's recipe under torchrun with the NCCL backend
#   bench    fit overhead in float32, fp16 and bf16; lesson 1's recipe over 3 seeds in float32, fp16 and bf16;
#            precomputed activations; coursekit against fastai in each precision (when fastai was carried)
#   bench-more  Darknet, lesson 8 and SSD loops
#
#     bash benchmarks/gpu_check.sh [tests|unit|lessons|ddp|bench|bench-more]...
#
# Packages the machine lacks travel in GPU_WHEELS (default .whl): wheels, and *.tar.xz archives of packages
# unpacked as they install (smaller to carry: strip the compiled modules; keep every spacy/lang folder, since
# spaCy imports its multi-language class even where the lessons need English alone).
# GPU_CHECK_PYTEST_ARGS adds pytest arguments; LESSONS is the glob of notebooks (default nbs/lesson*.ipynb).
# Logs go to $OUT, and a summary of each step's exit status and wall time to $OUT/summary.txt.
set -u
OUT=${OUT:-/tmp/gpu_check}
WHEELS=${GPU_WHEELS:-.whl}
mkdir -p "$OUT"
if compgen -G "$WHEELS/*.whl" >/dev/null || compgen -G "$WHEELS/*.tar.xz" >/dev/null; then
    mkdir -p /tmp/site
    if compgen -G "$WHEELS/*.whl" >/dev/null; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
            "$WHEELS"/*.whl || exit 1
    fi
    for archive in "$WHEELS"/*.tar.xz; do [ -e "$archive" ] && tar xJf "$archive" -C /tmp/site; done
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export COURSEKIT_DATA=${COURSEKIT_DATA:-/tmp/coursekit-data} COURSEKIT_MODE=sample
parts=${*:-tests bench}
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
    tests)  # make test's unit, real and nbs at once (CPU threads shared out); the GPU is shared by all three
        export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
        xdist=""
        python3 -c "import xdist" 2>/dev/null && xdist="-n ${JOBS:-4} --dist loadfile"
        step unit-tests 240 python3 -m pytest -q -p no:cacheprovider -m "not real_data and not kernel" -rs \
            --durations=5 ${GPU_CHECK_PYTEST_ARGS:-} tests &
        step real-tests 300 python3 -m pytest -q -p no:cacheprovider -m "(real_data or kernel) and not browser" -rs \
            --durations=10 ${GPU_CHECK_PYTEST_ARGS:-} tests &
        (step pretrain 120 python3 -m coursekit.text.pretrained
         step nbval 280 python3 -m pytest -q -p no:cacheprovider --nbval-lax --nbval-cell-timeout=300 $xdist \
             --durations=20 ${LESSONS:-nbs}) &
        wait
        unset OMP_NUM_THREADS ;;
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
        step bench-lesson01-steps 180 python3 benchmarks/bench_lesson01_steps.py --seeds 42 1 2 \
            --precision float32 fp16 bf16
        step bench-precompute 90 python3 benchmarks/bench_precompute.py
        if python3 -c "import fastai" 2>/dev/null; then
            for mp in "" fp16 bf16; do
                step "bench-vs-fastai-${mp:-default}" 120 python3 benchmarks/bench_vs_fastai.py --repeats 3 \
                    ${mp:+--mixed-precision $mp}
            done
        fi ;;
    bench-more)
        step bench-darknet 150 python3 benchmarks/bench_darknet.py --minutes 0.5 --repeats 2
        step bench-lesson08 90 python3 benchmarks/bench_lesson08.py --minutes 0.3 --repeats 2
        step bench-ssd 90 python3 benchmarks/bench_ssd.py --minutes 0.3 --repeats 2 ;;
    esac
done
echo "== summary"; cat "$OUT/summary.txt"
if grep -v ' rc=0 ' "$OUT/summary.txt" | grep -q ' rc='; then status=1; fi
exit $status
