"""The package's layout rules, checked on its source (not a list of today's imports).

- The core (the modules directly in ``coursekit/``) never imports a domain package (``vision``, ``tabular``,
  ``text``...); domain packages never import each other; ``samples`` (the offline data generators, which
  ``datasets`` uses) imports no core module but ``core`` and no domain package.
- Nothing is imported by a string (``importlib.import_module``, ``__import__``): every dependency is visible here.
- No ``import *``; no module imports another module's private (``_name``) helpers: a helper two modules need
  is public and lives in the lower one (``core`` or ``data`` when it is general).
- Package ``__init__`` files import nothing (notebooks import modules: ``from coursekit.vision import models``),
  except ``samples/__init__.py``, which registers the generators explicitly.
- A module stays under ``MAX_LINES`` lines, except those named in ``LONG_MODULES`` with the reason.
"""

import ast
import shutil
from pathlib import Path

import coursekit

PACKAGE = Path(coursekit.__file__).parent
SAMPLES = "samples"
# Lines as ``ruff format`` lays them out (a call too long for one line gets one argument per line): 300 of them
# hold about what 250 hand-packed lines did.
MAX_LINES = 300
LONG_MODULES = {  # "path/relative/to/coursekit.py": "why it is one module"
    "learner.py": "the Learner is read in one pass: loop, schedules, freezing, prediction and saving (its "
    "callbacks, recorder, lr finder, precision and prediction helpers live in their own modules)",
}
INIT_IMPORTS_ALLOWED = {"samples/__init__.py": "the explicit registry of sample generators"}


def module_files(package=PACKAGE):
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def owner(path, package=PACKAGE):
    """'core' for a module directly in the package, else the name of its sub-package."""
    rel = path.relative_to(package)
    return "core" if len(rel.parts) == 1 else rel.parts[0]


def imported_modules(tree):
    """(line, dotted name) of every coursekit module an AST imports (``from coursekit import x`` -> coursekit.x)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("coursekit"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coursekit"):
            for alias in node.names:  # the name may be a module (from coursekit import vision) or an object
                yield node.lineno, f"{node.module}.{alias.name}"


def target_owner(dotted, package=PACKAGE):
    """Which part of the package a dotted import lands in: 'core', a sub-package's name, or None (coursekit)."""
    parts = dotted.split(".")[1:]
    if not parts:
        return None
    if (package / parts[0]).is_dir():
        return parts[0]
    return "core"


def violations(package=PACKAGE):
    """Every broken rule, one line each, naming the file and line."""
    found = []
    for path in module_files(package):
        rel = path.relative_to(package).as_posix()
        source = path.read_text()
        tree = ast.parse(source)
        here = owner(path, package)
        for line, dotted in imported_modules(tree):
            there = target_owner(dotted, package)
            if there is None or there == here:
                continue
            if here == "core" and there != SAMPLES:
                found.append(f"{rel}:{line}: the core imports the domain package {there!r} ({dotted})")
            elif here == SAMPLES and not dotted.startswith("coursekit.core"):
                found.append(f"{rel}:{line}: samples import {dotted}; generators may use only coursekit.core")
            elif here not in ("core", SAMPLES) and there != "core":
                found.append(
                    f"{rel}:{line}: the domain package {here!r} imports {there!r} ({dotted}); "
                    "domains do not import each other: move what both need into the core"
                )
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if any(alias.name == "*" for alias in node.names):
                    found.append(f"{rel}:{node.lineno}: star import from {node.module}")
                if node.module and node.module.startswith("coursekit"):
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    if private:
                        found.append(f"{rel}:{node.lineno}: imports private {private} from {node.module}")
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name in ("importlib.import_module", "import_module", "__import__"):
                    found.append(f"{rel}:{node.lineno}: import by string ({name}); import the module by name")
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.names[0].name == "importlib":
                found.append(f"{rel}:{node.lineno}: imports importlib; import modules by name")
            if isinstance(node, ast.ImportFrom) and node.module == "importlib":
                found.append(f"{rel}:{node.lineno}: imports from importlib; import modules by name")
        if path.name == "__init__.py" and rel not in INIT_IMPORTS_ALLOWED:
            imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
            if imports:
                found.append(
                    f"{rel}:{imports[0].lineno}: a package __init__ imports (no re-exports: notebooks "
                    "import the modules themselves)"
                )
        n_lines = len(source.splitlines())
        if n_lines > MAX_LINES and rel not in LONG_MODULES:
            found.append(
                f"{rel}: {n_lines} lines (over {MAX_LINES}); split it, or name it in LONG_MODULES with the reason"
            )
    return found


def test_the_package_keeps_its_layout_rules():
    found = violations()
    assert not found, "\n".join(found)


def test_long_module_exceptions_are_still_needed():
    for rel, reason in LONG_MODULES.items():
        path = PACKAGE / rel
        assert path.exists(), f"{rel} is in LONG_MODULES but does not exist"
        assert len(path.read_text().splitlines()) > MAX_LINES, f"{rel} is short now: drop it from LONG_MODULES"
        assert reason


def planted(tmp_path, rel, source):
    """A copy of the package with one extra module, to check that the rules catch it."""
    copy = tmp_path / "coursekit"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / rel).write_text(source)
    return copy


def test_a_cross_domain_import_is_caught(tmp_path):
    copy = planted(tmp_path, "tabular/uses_vision.py", '"""Plant."""\nfrom coursekit.vision import images\n')
    found = violations(copy)
    assert any("tabular/uses_vision.py:2" in v and "'tabular' imports 'vision'" in v for v in found), found


def test_the_core_importing_a_domain_is_caught(tmp_path):
    copy = planted(tmp_path, "planted.py", '"""Plant."""\nfrom coursekit import vision\n')
    assert any("planted.py:2: the core imports the domain package 'vision'" in v for v in violations(copy))


def test_an_import_by_string_is_caught(tmp_path):
    copy = planted(
        tmp_path,
        "vision/sneaky.py",
        '"""Plant."""\nimport importlib\n\nmod = importlib.import_module("coursekit.tabular.collab")\n',
    )
    found = violations(copy)
    assert any("vision/sneaky.py:4: import by string" in v for v in found), found


def test_a_private_import_a_star_import_and_a_long_module_are_caught(tmp_path):
    copy = planted(
        tmp_path,
        "vision/bad.py",
        '"""Plant."""\nfrom coursekit.core import _hidden\nfrom coursekit.data import *\n' + "x = 1\n" * MAX_LINES,
    )
    found = "\n".join(violations(copy))
    assert (
        "imports private ['_hidden']" in found
        and "star import" in found
        and f"vision/bad.py: {MAX_LINES + 3} lines" in found
    )


def test_a_re_export_in_a_package_init_is_caught(tmp_path):
    copy = planted(tmp_path, "vision/__init__.py", '"""Plant."""\nfrom coursekit.vision.models import cnn_model\n')
    assert any("vision/__init__.py:2: a package __init__ imports" in v for v in violations(copy))
