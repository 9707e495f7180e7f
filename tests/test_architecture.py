"""Keeps the package layered: a module imports coursekit modules only from lower layers."""
import ast
from pathlib import Path

import coursekit

PACKAGE = Path(coursekit.__file__).parent

# lower number = lower layer. A new module must be placed here (the test says so).
LAYERS = {
    "__init__": 0, "core": 0, "progress": 0,
    "metrics": 1, "schedule": 1, "downloads": 1, "data": 1,
    "callbacks": 2, "datasets": 2,
    "samples": 3, "samples_tabular": 3,
    "vision": 4, "models": 4,
    "segmentation": 5,
    "learner": 5,  # segmentation and learner share a layer: neither imports the other
    "tabular": 6, "collab": 6, "interpret": 6,
    "run": 7,
}


def coursekit_imports(file):
    tree = ast.parse(file.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coursekit"):
            parts = node.module.split(".")
            if len(parts) > 1:
                yield parts[1]
            else:
                yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("coursekit."):
                    yield alias.name.split(".")[1]


def test_every_module_has_a_layer():
    missing = [p.stem for p in PACKAGE.glob("*.py") if p.stem not in LAYERS]
    assert not missing, f"place these modules in LAYERS in {__file__}: {missing}"


def test_modules_import_only_from_lower_layers():
    bad = []
    for file in PACKAGE.glob("*.py"):
        for dep in coursekit_imports(file):
            if dep in LAYERS and file.stem in LAYERS and LAYERS[dep] >= LAYERS[file.stem] and dep != file.stem:
                # datasets imports sample modules lazily, to find generators by name: allowed upwards
                if not (file.stem == "datasets" and dep.startswith("samples")):
                    bad.append(f"{file.stem} (layer {LAYERS[file.stem]}) imports {dep} (layer {LAYERS[dep]})")
    assert not bad, "\n".join(bad)
