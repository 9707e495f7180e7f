"""A lesson's final metrics over several seeds, recorded for the prose that quotes them.

Runs the notebook headless once per seed (``coursekit.run --seed S``, one after the other, in the mode given), reads
each run's ``FINAL METRICS`` line, prints every metric's range over the seeds, and writes them to
``benchmarks/seeds/<notebook>.<mode>.json`` with the commit, the date and a fingerprint of the notebook's code.
``tests/test_notebook_claims.py`` checks every range a notebook's prose quotes with this command against that
record: a range typed from memory, or one left behind by a change to the lesson, fails there.

    .venv/bin/python benchmarks/seed_ranges.py nbs/lesson03_segmentation.ipynb --mode small [--seeds 0 1 2]
"""

import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from common import REPO
from coursekit.run import final_metrics

RECORDS = REPO / "benchmarks" / "seeds"


def record_path(notebook, mode):
    return RECORDS / f"{Path(notebook).stem}.{mode}.json"


def code_fingerprint(notebook):
    """sha256 of the notebook's code cells: a record made before the code changed says so."""
    nb = nbformat.read(notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return hashlib.sha256(code.encode()).hexdigest()[:16]


def run_seed(notebook, mode, seed, out):
    env = dict(os.environ, COURSEKIT_MODE=mode)
    shared = REPO.parent / "shared" / "data"
    if mode == "small" and "COURSEKIT_SMALL_DATA" not in env and shared.is_dir():
        env["COURSEKIT_SMALL_DATA"] = str(shared)  # as the Makefile does
    cmd = [sys.executable, "-m", "coursekit.run", str(notebook), "--seed", str(seed), "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{notebook} with seed {seed} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    metrics = final_metrics(nbformat.read(out / Path(notebook).name, as_version=4))
    if metrics is None:
        sys.exit(f"{notebook} printed no FINAL METRICS line: nothing to record.")
    return metrics, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--mode", choices=("sample", "small"), default="sample")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    notebook = args.notebook.resolve()
    runs = {}
    for seed in args.seeds:
        out = REPO / "runs" / "seed_ranges" / f"{args.mode}-{seed}"
        out.mkdir(parents=True, exist_ok=True)
        runs[str(seed)], seconds = run_seed(notebook, args.mode, seed, out)
        print(f"seed {seed}: {seconds:.0f} s", flush=True)
    numeric = sorted({k for m in runs.values() for k, v in m.items() if isinstance(v, (int, float))})
    for name in numeric:
        values = [m[name] for m in runs.values() if name in m]
        print(f"{name}: {min(values):.4f} to {max(values):.4f} over seeds {', '.join(runs)}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    record = {
        "notebook": str(notebook.relative_to(REPO)),
        "mode": args.mode,
        "command": f"python benchmarks/seed_ranges.py {notebook.relative_to(REPO)} --mode {args.mode} "
        f"--seeds {' '.join(map(str, args.seeds))}",
        "date": datetime.date.today().isoformat(),
        "commit": commit.stdout.strip(),
        "code_sha256": code_fingerprint(notebook),
        "seeds": runs,
    }
    RECORDS.mkdir(exist_ok=True)
    path = record_path(notebook, args.mode)
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"recorded in {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
