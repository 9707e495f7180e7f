"""Every lesson in sample mode with bf16 autocast against float32: does its headline metric stay within the
seed-to-seed noise?

Each notebook runs headless (``coursekit.run``'s executor) once per ``--seeds`` seed (written into its parameters
cell) and precision: ``COURSEKIT_MIXED_PRECISION=off`` (float32) and ``bf16``, the two alternating so that both
see the same machine load. The headline metric is the first one the notebook's ``FINAL METRICS`` floors name. Prints
the metric per seed both ways, the difference of the means against the spread of the seeds (their pooled sd), and
each run's wall time. Only meaningful on a CPU with native bf16 (elsewhere bf16 autocast is slow; it says so).

    .venv/bin/python benchmarks/bench_notebook_precision.py [--seeds 1 2] [--notebooks lesson01 lesson05 ...]
        [--jobs 2]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from common import REPO
from coursekit.core import cpu_has_bf16
from coursekit.run import CHECKED_MODE

PRECISIONS = ("off", "bf16")
EXPECTED = re.compile(rf"expected in {CHECKED_MODE} mode: (.+?) = (\S+) (>=|<=) ([^:\s]+):")  # report_final_metrics


def run_one(notebook, seed, precision, timeout):
    """(headline name, value, ">=" or "<=", seconds, error) of one headless run, in its own process."""
    env = dict(os.environ, COURSEKIT_MODE="sample", COURSEKIT_MIXED_PRECISION=precision, OMP_NUM_THREADS="1")
    code = (
        "import sys, nbformat\n"
        "from coursekit.run import execute\n"
        f"nb = nbformat.read({str(notebook)!r}, as_version=4)\n"
        "cell = next(c for c in nb.cells if 'parameters' in c.metadata.get('tags', []))\n"
        f"cell.source += '\\nseed = {seed}  # bench_notebook_precision'\n"
        f"err = execute(nb, {str(notebook)!r}, {timeout})\n"
        "print(''.join(o.get('text', '') for c in nb.cells for o in c.get('outputs', [])))\n"
        "sys.exit(f'FAILED: {err}' if err else 0)\n"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - start
    found = EXPECTED.findall(done.stdout)
    if done.returncode or not found:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return None, float("nan"), None, seconds, " / ".join(tail)
    name, value, op, _ = found[0]
    return name, float(value), op, seconds, ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--notebooks", nargs="*", help="name prefixes (default: every lesson)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once, one thread each")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args()
    if not cpu_has_bf16():
        print("NOTE: this CPU has no native bf16: bf16 autocast runs here, but slowly; the times will say so.")
    notebooks = sorted((REPO / "nbs").glob("lesson*.ipynb"))
    if args.notebooks:
        notebooks = [p for p in notebooks if any(p.name.startswith(n) for n in args.notebooks)]
    jobs = [(nb, seed, p) for nb in notebooks for seed in args.seeds for p in PRECISIONS]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = dict(zip(jobs, pool.map(lambda j: run_one(*j, args.timeout), jobs)))
    for (nb, seed, p), r in results.items():
        print(f"{nb.stem} seed {seed} {p}: {r[0]} {r[1]:.4f} in {r[3]:.0f} s {r[4]}", flush=True)
    print(f"\nheadline metric per lesson, seeds {args.seeds}, float32 (off) vs bf16 autocast; {args.jobs} at once")
    head = f"{'lesson':<24}{'metric':<24}{'float32':>18}{'bf16':>18}{'diff':>8}{'noise sd':>9}"
    print(head + f"  verdict  {'time f32/bf16':>13}")
    for nb in notebooks:
        rows = {p: [results[(nb, s, p)] for s in args.seeds] for p in PRECISIONS}
        failed = [f"{p} seed {s}: {r[4]}" for p in PRECISIONS for s, r in zip(args.seeds, rows[p]) if r[0] is None]
        if failed:
            print(f"{nb.stem:<24}FAILED: {'; '.join(failed)}")
            continue
        name = rows["off"][0][0]
        vals = {p: [r[1] for r in rows[p]] for p in PRECISIONS}
        diff = statistics.mean(vals["bf16"]) - statistics.mean(vals["off"])
        spread = [statistics.stdev(v) for v in vals.values() if len(v) > 1]
        noise = statistics.mean(spread) if spread else float("nan")
        worse = -diff if rows["off"][0][2] == ">=" else diff  # positive: bf16 is worse
        verdict = "one seed" if noise != noise else "within" if worse <= 2 * noise else "WORSE"  # nan: one seed
        times = {p: statistics.median(r[3] for r in rows[p]) for p in PRECISIONS}
        print(
            f"{nb.stem:<24}{name:<24}{' '.join(f'{v:.4f}' for v in vals['off']):>18}"
            f"{' '.join(f'{v:.4f}' for v in vals['bf16']):>18}{diff:>+8.4f}{noise:>9.4f}  {verdict:<7}  "
            f"{times['off']:>5.0f}/{times['bf16']:<5.0f} s"
        )
    print("verdict: 'within' when bf16's mean is no worse than float32's by more than twice the seeds' sd")


if __name__ == "__main__":
    main()
