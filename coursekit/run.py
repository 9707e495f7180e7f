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
    """The last ``FINAL METRICS:`` line printed by any cell of an executed notebook. A cell's stdout is read as one
    text: the kernel may send one printed line in several stream outputs (``FINAL METRICS:``, then the JSON)."""
    found = None
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        text = "".join(out.get("text", "") for out in outputs if out.get("name", "stdout") == "stdout")
        for line in text.splitlines():
            if line.startswith(MARKER):
                found = json.loads(line[len(MARKER) :])
    return found


def execute(nb, path, timeout):
    """Run ``nb`` (read from ``path``) in a python3 kernel started in the notebook's folder, its outputs kept in
    ``nb``; ``None``, or the error that stopped it: a failing cell, a cell over ``timeout`` seconds, a dead kernel
    (named with the cell it was running)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    running = {}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
        on_cell_execute=lambda cell, cell_index, **_: running.update(cell=cell, index=cell_index),
    )
    try:
        client.execute()
    except DeadKernelError as e:
        return DeadKernelError(dead_kernel_message(running, e))
    except (CellExecutionError, CellTimeoutError, TimeoutError, RuntimeError) as e:
        return e
    return None


def dead_kernel_message(running, error):
    """What to say when the kernel died: the cell it was running (its index and first line), and what to do."""
    if not running:
        where = "before any cell ran"
    else:
        source = running["cell"].get("source", "")
        first = next((line.strip() for line in source.splitlines() if line.strip()), "")
        where = f"while running cell {running['index']} (counting every cell from 0), which starts {first!r}"
    return (
        f"The kernel died {where} ({error}). The Python process itself ended: most often it ran out of memory "
        "(try a smaller batch size or image size, or COURSEKIT_MODE=sample), or native code crashed or called "
        "os._exit. Run that cell in JupyterLab to see what happens there."
    )


def read_notebook(path):
    """The notebook at ``path`` (nbformat version 4), or ``SystemExit`` with what is wrong: no such file, a folder
    (its notebooks listed), a file that is not JSON (its line and column) or not a notebook."""
    import nbformat

    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.ipynb"))
        example = f"{path / found[0]}" if found else "nbs/lesson01_dogs_cats.ipynb"
        sys.exit(
            f"{path} is a folder, not a notebook; name one notebook, e.g. make run LESSON={example}. "
            f"The notebooks in {path}: {', '.join(found) if found else 'none'}."
        )
    if not path.exists():
        sys.exit(
            f"No notebook {path}; the lessons are: " + ", ".join(sorted(p.name for p in Path("nbs").glob("*.ipynb")))
        )
    restore = f"Restore it with git (git diff {path}; git checkout -- {path}), or fix it in a text editor."
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        sys.exit(
            f"{path} is not a notebook: a notebook is UTF-8 text, and byte {e.start:,} of this file is not. {restore}"
        )
    except json.JSONDecodeError as e:
        what = "it is empty" if not e.doc.strip() else f"{e.msg} at line {e.lineno}, column {e.colno}"
        sys.exit(
            f"{path} is not a notebook: a notebook is a JSON file, and this one is not valid JSON ({what}). "
            f"A hand edit or a merge conflict (<<<<<<<) breaks it so. {restore}"
        )
    if not isinstance(data, dict) or "nbformat" not in data:
        what = (
            f"this one's keys are {sorted(data)[:8]}"
            if isinstance(data, dict)
            else f"this one is a {type(data).__name__}"
        )
        sys.exit(
            f"{path} is JSON but not a notebook: a notebook is an object with 'nbformat' and 'cells', {what}. {restore}"
        )
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises ValidationError, KeyError, TypeError... for JSON that is not a notebook
        detail = f"{type(e).__name__}: {str(e).strip().splitlines()[0]}" if str(e).strip() else type(e).__name__
        sys.exit(f"{path} is JSON but not a Jupyter notebook nbformat can read ({detail}). {restore}")
    return nb


def set_parameter(nb, path, name, value):
    """Append ``name = value`` to the notebook's parameters cell (the cell tagged ``parameters``)."""
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        sys.exit(f"{path} has no cell tagged 'parameters' to set {name} in: tag the cell of its settings.")
    cell.source += f"\n{name} = {value!r}  # set by coursekit.run --{name}"


def main(argv=None):
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    parser.add_argument("--seed", type=int, help="run with this seed (appended to the parameters cell)")
    args = parser.parse_args(argv)
    nb = read_notebook(args.notebook)
    if args.seed is not None:
        set_parameter(nb, args.notebook, "seed", args.seed)
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
