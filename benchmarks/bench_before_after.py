"""Did a change make coursekit slower against fastai? ``bench_vs_fastai.py`` on two checkouts, seed by seed.

Each seed runs in its own process, first in one tree and then in the other (the order swaps every seed), so the
machine's load falls on both alike; the per-seed time ratios (coursekit/fastai) of the two trees are then compared
as pairs (``paired.py``). The other checkout needs this directory's ``bench_vs_fastai.py``, ``paired.py`` and
``common.py`` and a ``.bench-site`` (a symlink to this one's will do):

    git worktree add /tmp/before <commit>
    cp benchmarks/{bench_vs_fastai,paired,common}.py /tmp/before/benchmarks/
    ln -s "$PWD/.bench-site" /tmp/before/.bench-site
    .venv/bin/python benchmarks/bench_before_after.py /tmp/before [--seeds 15]

Prints each tree's median ratio, the paired difference of the ratios (after - before) with its interval, and this
tree's paired accuracy difference against fastai over the same seeds.
"""

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

from paired import paired, verdict

HERE = Path(__file__).resolve().parent
LINE = re.compile(r"seed (\d+): coursekit ([\d.]+) in ([\d.]+) s, fastai ([\d.]+) in ([\d.]+) s")


def one_seed(tree, seed):
    """Run bench_vs_fastai.py for one seed in ``tree``; return (coursekit acc, time, fastai acc, time)."""
    cmd = [
        sys.executable,
        "benchmarks/bench_vs_fastai.py",
        "--first-seed",
        str(seed),
        "--min-seeds",
        "1",
        "--max-seeds",
        "1",
    ]
    out = subprocess.run(cmd, cwd=tree, capture_output=True, text=True)
    found = LINE.search(out.stdout)
    if out.returncode or not found:
        raise SystemExit(
            f"{tree}: seed {seed} failed (exit {out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-3000:]}"
        )
    return tuple(float(g) for g in found.groups()[1:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path, help="the other checkout (the code before the change)")
    parser.add_argument("--seeds", type=int, default=15, help="seeds of this tree (its accuracy against fastai)")
    parser.add_argument("--before-seeds", type=int, default=None, help="seeds of the other tree (default: --seeds)")
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": HERE.parent}
    runs = {name: [] for name in trees}
    n_before = args.seeds if args.before_seeds is None else min(args.before_seeds, args.seeds)
    for seed in range(args.seeds):
        order = list(trees) if seed % 2 == 0 else list(trees)[::-1]
        for name in order if seed < n_before else ["after"]:
            runs[name].append(one_seed(trees[name], seed))
            ck, ck_t, fa, fa_t = runs[name][-1]
            print(
                f"seed {seed} {name:<6}: coursekit {ck:.4f} in {ck_t:.1f} s, fastai {fa:.4f} in {fa_t:.1f} s, "
                f"ratio {ck_t / fa_t:.3f}",
                flush=True,
            )
    ratios = {name: [r[1] / r[3] for r in rows] for name, rows in runs.items()}
    print()
    for name, rows in runs.items():  # each tree over its own seeds
        print(
            f"{name:<6} ({trees[name]}): time ratio coursekit/fastai median {statistics.median(ratios[name]):.3f} "
            f"(range {min(ratios[name]):.3f}-{max(ratios[name]):.3f}); coursekit median "
            f"{statistics.median(r[1] for r in rows):.2f} s, fastai {statistics.median(r[3] for r in rows):.2f} s"
        )
    both = len(ratios["before"])  # the seeds run in both trees
    print(
        f"time ratio, after - before, seeds 0-{both - 1}: " + verdict(paired(ratios["after"][:both], ratios["before"]))
    )
    after = runs["after"]
    print(
        "accuracy after, coursekit - fastai: "
        + verdict(paired([100 * r[0] for r in after], [100 * r[2] for r in after]), " points")
    )


if __name__ == "__main__":
    main()
