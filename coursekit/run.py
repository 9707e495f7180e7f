"""Run a lesson notebook headless, save the executed copy under ``runs/``, print its final metrics.

``python -m coursekit.run nbs/lesson01_dogs_cats.ipynb`` (the data mode comes from ``COURSEKIT_MODE``).
A notebook reports its final metrics by printing a line ``FINAL METRICS: {json}``, and checks them against the
floors it expects (``expect=``), so that a lesson whose model quietly falls to chance fails under nbval.
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

MARKER = "FINAL METRICS:"


CHECKED_MODES = ("sample", "small")  # floors measured on data every machine has (generated, or ../shared/data)
CHECKED_MODE = "sample"  # the mode a flat expect dict's floors belong to


class MetricBelowExpected(AssertionError):
    """A lesson's final metric missed the floor (or ceiling) its notebook expects."""


def expectations_by_mode(expect):
    """``{mode: {name: rule}}`` from ``expect``: per mode already (``{"sample": {...}, "small": {...}}``), or
    one dict of rules, which are the sample mode's (where floors were first measured)."""
    expect = expect or {}
    if expect and all(k in ("sample", "small", "full") and isinstance(v, dict) for k, v in expect.items()):
        return expect
    return {CHECKED_MODE: expect} if expect else {}


def report_final_metrics(metrics, expect=None):
    """Print the line ``coursekit.run`` looks for at the end of a lesson (a dict of name -> number), then check
    ``expect``: ``{"valid_accuracy": ">= 0.85", "exp_rmspe": "<= 0.13"}`` (a bare number means ``>=``), the
    sample mode's floors; or floors per mode, ``{"sample": {...}, "small": {...}}``.

    The floors of the mode the lesson ran in (``metrics["mode"]``) are enforced in sample and small mode: a miss
    raises ``MetricBelowExpected``. Every other comparison is printed and not enforced (full mode's data is not
    on every machine, and one mode's floors say nothing about another's data).
    """
    print(MARKER, json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()}))
    mode = metrics.get("mode")
    missed = []
    for checked, rules in expectations_by_mode(expect).items():
        enforced = checked == mode and mode in CHECKED_MODES
        for name, rule in rules.items():
            op, bound = parse_expectation(name, rule)
            if name not in metrics:
                raise KeyError(
                    f"expect names {name!r}, but the metrics reported are {sorted(metrics)}; fix the name "
                    f"in report_final_metrics(..., expect=...)."
                )
            value = float(metrics[name])
            ok = value >= bound if op == ">=" else value <= bound  # False for NaN, as it should be
            print(
                f"expected in {checked} mode: {name} = {value:.4f} {op} {bound:g}: "
                f"{'ok' if ok else 'MISSED'}{'' if enforced else f' (not enforced in {mode} mode)'}"
            )
            if not ok and enforced:
                missed.append(f"{name} = {value:.4f}, but this lesson expects {op} {bound:g}")
    if missed:
        raise MetricBelowExpected(
            f"The lesson's results in {mode} mode are worse than they should be: "
            + "; ".join(missed)
            + ". These bounds leave a "
            "clear margin beyond what every seed reaches, so training has gone wrong (a changed parameter, "
            "learning rate, model or data): compare the parameters cell and your changes with the lesson as "
            "shipped (git diff nbs/)."
        )


def parse_expectation(name, rule):
    """``">= 0.85"`` -> ``(">=", 0.85)``; ``("<=", 0.13)`` and a bare number (a floor) are accepted too."""
    if isinstance(rule, (int, float)):
        return ">=", float(rule)
    found = re.fullmatch(r"\s*(>=|<=)\s*(\S+)\s*", rule) if isinstance(rule, str) else None
    op, bound = found.groups() if found else (tuple(rule) if isinstance(rule, (tuple, list)) else (None, None))
    try:
        if op in (">=", "<=") and bound is not None:
            return op, float(bound)
    except ValueError:
        pass
    raise ValueError(f"expect[{name!r}] = {rule!r}: write '>= number' for a floor or '<= number' for a ceiling.")


def final_metrics(nb):
    """The last ``FINAL METRICS:`` line printed by any cell of an executed notebook."""
    found = None
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith(MARKER):
                    found = json.loads(line[len(MARKER) :])
    return found


def execute(nb, path, timeout):
    """Run ``nb`` (read from ``path``) in a python3 kernel started in the notebook's folder, its outputs kept in
    ``nb``; ``None``, or the error that stopped it: a failing cell, a cell over ``timeout`` seconds, a dead kernel."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(Path(path).parent)}}
    )
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as e:
        return e
    return None


def main(argv=None):
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    if not args.notebook.exists():
        sys.exit(
            f"No notebook {args.notebook}; the lessons are: "
            + ", ".join(sorted(p.name for p in Path("nbs").glob("*.ipynb")))
        )
    nb = nbformat.read(args.notebook, as_version=4)
    args.out.mkdir(parents=True, exist_ok=True)
    out_file = args.out / args.notebook.name
    print(f"Running {args.notebook} (saving the executed notebook to {out_file}) ...", flush=True)
    start = time.time()
    error = execute(nb, args.notebook, args.timeout)
    if error is not None:
        nbformat.write(nb, out_file)
        sys.exit(f"{args.notebook} failed; the executed notebook up to the error is in {out_file}.\n{error}")
    nbformat.write(nb, out_file)
    metrics = final_metrics(nb)
    print(f"Done in {time.time() - start:.0f} s.")
    if metrics is None:
        print("The notebook printed no final metrics.")
    else:
        for k, v in metrics.items():
            print(f"  {k}: {v}")


if __name__ == "__main__":
    main()
