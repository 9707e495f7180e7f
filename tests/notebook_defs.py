"""Load a lesson's definition cells into a module, so tests check the code students read instead of a copy of it.

A lesson marks the cells that define its models, losses and helpers with the cell tag ``defs`` (in JupyterLab: the
property inspector, "Cell Tags"). Those cells, and only those, run here, in notebook order, in a fresh module: they
must not train, download or plot, and must import what they use (the lesson's import cell carries the tag too).

    from notebook_defs import load_defs   # tests/ is on sys.path, as for conftest
    l9 = load_defs("lesson09_ssd")
    l9.ssd_loss(...)
"""

import json
import types
from functools import lru_cache
from pathlib import Path

NBS = Path(__file__).resolve().parents[1] / "nbs"
TAG = "defs"


def defs_cells(notebook, tag=TAG):
    """The sources of ``notebook``'s cells tagged ``tag``, as (cell id, source) pairs in notebook order."""
    path = NBS / f"{notebook}.ipynb" if not str(notebook).endswith(".ipynb") else Path(notebook)
    nb = json.loads(path.read_text())
    cells = [
        (c.get("id", f"#{i}"), "".join(c["source"]))
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and tag in c.get("metadata", {}).get("tags", [])
    ]
    if not cells:
        raise LookupError(f"{path}: no code cell is tagged {tag!r}; tag the cells that define the lesson's code")
    return path, cells


@lru_cache(maxsize=None)
def load_defs(notebook, tag=TAG):
    """A module holding everything ``notebook``'s ``tag`` cells define (cached: load once per test session)."""
    path, cells = defs_cells(notebook, tag)
    module = types.ModuleType(f"nbdefs_{path.stem}", f"definition cells of {path.name}")
    module.__file__ = str(path)
    for cell_id, source in cells:
        # Cell magics and shell lines are not Python: a definition cell must not hold them.
        code = compile(source, f"{path.name}[{cell_id}]", "exec")
        exec(code, module.__dict__)
    return module
