"""Run a lesson notebook headless, save the executed copy under ``runs/``, print its final metrics.

``python -m coursekit.run nbs/lesson01_dogs_cats.ipynb`` (the data mode comes from ``COURSEKIT_MODE``).
A notebook reports its final metrics by printing a line ``FINAL METRICS: {json}``.
"""
import argparse
import json
import sys
import time
from pathlib import Path

MARKER = "FINAL METRICS:"


def report_final_metrics(metrics):
    """Print the line ``coursekit.run`` looks for at the end of a lesson (a dict of name -> number)."""
    print(MARKER, json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()}))


def final_metrics(nb):
    """The last ``FINAL METRICS:`` line printed by any cell of an executed notebook."""
    found = None
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith(MARKER):
                    found = json.loads(line[len(MARKER):])
    return found


def main(argv=None):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    if not args.notebook.exists():
        sys.exit(f"No notebook {args.notebook}; the lessons are: "
                 + ", ".join(sorted(p.name for p in Path("nbs").glob("*.ipynb"))))
    nb = nbformat.read(args.notebook, as_version=4)
    args.out.mkdir(parents=True, exist_ok=True)
    out_file = args.out / args.notebook.name
    print(f"Running {args.notebook} (saving the executed notebook to {out_file}) ...", flush=True)
    start = time.time()
    client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(args.notebook.parent)}})
    try:
        client.execute()
    except CellExecutionError as e:
        nbformat.write(nb, out_file)
        sys.exit(f"{args.notebook} failed; the executed notebook up to the error is in {out_file}.\n{e}")
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
