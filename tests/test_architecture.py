"""The package's layout rules, checked on its source (not a list of today's imports).

- The core (the modules directly in ``coursekit/``) never imports a domain package (``vision``, ``tabular``,
  ``text``...); domain packages never import each other; ``samples`` (the offline data generators) is imported
  by the core modules in ``SAMPLES_USERS`` alone, and imports no coursekit module but ``coursekit.core`` itself.
- Relative imports (``from ..vision import images``) are resolved to the module they name and checked like
  absolute ones.
- Nothing is imported by a string or reached through the import system (``importlib.import_module``,
  ``__import__``, ``sys.modules[...]``): every dependency is an import statement, visible here.
- No ``import *``; no module imports another module's private (``_name``) helpers: a helper two modules need
  is public and lives in the lower one (``core`` or ``data`` when it is general).
- Package ``__init__`` files import nothing (notebooks import modules: ``from coursekit.vision import models``),
  except ``samples/__init__.py``, which registers the generators explicitly.
- A module stays under ``MAX_LINES`` lines, except those named in ``LONG_MODULES`` with the reason.
- A domain module that only one notebook imports is named in ``ONE_LESSON_MODULES`` with the reason it is not in
  that lesson's cells.
"""

import ast
import json
import re
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
SAMPLES_USERS = {"datasets.py": "data modes: it generates and caches the sample datasets"}
# A domain module that only one lesson imports holds that lesson's own code, which belongs in its cells where students
# read it; the ones that stay say why (infrastructure a reader skips: loading, checking, caching, widgets), or which
# issue moves them.
ONE_LESSON_MODULES = {
    "tabular/collab.py": "MovieLens reading, checked id maps and loaders; lesson 6 writes its models in cells",
    "tabular/features.py": "date and rolling-window feature plumbing for Rossmann's tables, checked and tested",
    "tabular/tabular.py": "the tabular processor (fitted on training data, checked joins) and its loaders",
    "text/chars.py": "character corpus reading, vocabulary and window/stateful loaders (lesson 7's data)",
    "text/pairs.py": "reading, filtering and batching giga-fren/Tatoeba sentence pairs, BLEU via sacrebleu (lesson "
    "11's data and metric; its models, loss, teacher forcing and decoding are in its cells)",
    "text/pretrained.py": "building and caching the general language models, once per machine (make pretrain)",
    "text/transfer.py": "converting the 2018 WikiText-103 weights to coursekit's names (lesson 10's download)",
    "vision/binary_seg.py": "reading and checking GIF/PNG masks, the split by car, Dice (lesson 14b's data and metric)",
    "vision/fast_style.py": "the photos to restyle, the checked one-pass stylize and a timer (lesson 14's plumbing)",
    "vision/mean_ap.py": "AP@0.5 and COCO mAP, checked against pycocotools (lesson 9's metric)",
    "vision/multilabel.py": "threshold choice on held-out images and the best-constant baseline (lesson 2's checks)",
    "vision/segmentation.py": "CamVid-layout reading, mask-aware transforms and loaders (lesson 3's data)",
    "vision/superres.py": "paired low/high-res crops, bicubic baseline, PSNR, pictures (lesson 14's data and metric)",
    "vision/widgets.py": "the ipywidgets for classifying an uploaded photo and cleaning a dataset (lesson 1)",
}


def module_files(package=PACKAGE):
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def owner(path, package=PACKAGE):
    """'core' for a module directly in the package, else the name of its sub-package."""
    rel = path.relative_to(package)
    return "core" if len(rel.parts) == 1 else rel.parts[0]


def module_name(path, package=PACKAGE):
    """The dotted name of a module file: coursekit/vision/images.py -> coursekit.vision.images."""
    parts = list(path.relative_to(package).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["coursekit", *parts])


def absolute(node, importer, is_package):
    """The absolute module an ``ImportFrom`` names; a relative one is resolved against the importing module.

    None when it climbs above the top-level package (Python itself refuses that import)."""
    if not node.level:
        return node.module
    base = importer.split(".")
    if not is_package:
        base.pop()  # a module's relative imports start from its package
    if node.level - 1 >= len(base):
        return None
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(tree, importer="coursekit", is_package=False):
    """(line, dotted name) of every coursekit module an AST imports (``from coursekit import x`` -> coursekit.x),
    relative imports resolved against ``importer``, the importing module's dotted name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "coursekit" or alias.name.startswith("coursekit."):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            module = absolute(node, importer, is_package)
            if module and (module == "coursekit" or module.startswith("coursekit.")):
                for alias in node.names:  # the name may be a module (from coursekit import vision) or an object
                    yield node.lineno, f"{module}.{alias.name}"


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
        name = module_name(path, package)
        for line, dotted in imported_modules(tree, name, path.name == "__init__.py"):
            there = target_owner(dotted, package)
            if there is None or there == here:
                continue
            if here == "core" and there == SAMPLES:
                if rel not in SAMPLES_USERS:
                    found.append(
                        f"{rel}:{line}: the core module imports {dotted}; only {sorted(SAMPLES_USERS)} use the "
                        "sample generators (go through coursekit.datasets)"
                    )
            elif here == "core":
                found.append(f"{rel}:{line}: the core imports the domain package {there!r} ({dotted})")
            elif here == SAMPLES and dotted.split(".")[1] != "core":
                found.append(f"{rel}:{line}: samples import {dotted}; generators may use only coursekit.core")
            elif here not in ("core", SAMPLES) and there != "core":
                found.append(
                    f"{rel}:{line}: the domain package {here!r} imports {there!r} ({dotted}); "
                    "domains do not import each other: move what both need into the core"
                )
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level and absolute(node, name, path.name == "__init__.py") is None:
                    found.append(f"{rel}:{node.lineno}: a relative import climbs above the coursekit package")
                if any(alias.name == "*" for alias in node.names):
                    found.append(f"{rel}:{node.lineno}: star import from {node.module}")
                if node.level or (node.module or "").split(".")[0] == "coursekit":
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
            if isinstance(node, ast.Attribute) and node.attr == "modules" and ast.unparse(node.value) == "sys":
                found.append(f"{rel}:{node.lineno}: reads sys.modules; import the module by name")
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "sys"
                and any(a.name == "modules" for a in node.names)
            ):
                found.append(f"{rel}:{node.lineno}: imports sys.modules; import the module by name")
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


def notebooks_importing_domain_modules():
    """{domain module path relative to coursekit: the names of the notebooks that import it}."""
    pattern = re.compile(r"from[ \t]+coursekit\.(\w+)[ \t]+import[ \t]+(\([^)]*\)|[\w, \t]+)|coursekit\.(\w+)\.(\w+)")
    found = {}
    for nb in sorted((PACKAGE.parent / "nbs").glob("*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
        for domain, names, domain2, module in pattern.findall(code):
            rels = (
                [f"{domain}/{n}.py" for n in re.split(r"[,()\s]+", names) if n]
                if domain
                else [f"{domain2}/{module}.py"]
            )
            for rel in rels:
                found.setdefault(rel, set()).add(nb.stem)
    return found


def test_a_domain_module_only_one_lesson_imports_says_why_it_is_not_in_the_lessons_cells():
    one_lesson = {
        rel
        for rel, nbs in notebooks_importing_domain_modules().items()
        if len(nbs) == 1 and rel.split("/")[0] in ("vision", "text", "tabular") and (PACKAGE / rel).exists()
    }
    missing = sorted(one_lesson - set(ONE_LESSON_MODULES))
    assert not missing, (
        f"only one notebook imports {missing}: move the lesson's code into its cells (tagged defs), or name the "
        "module in ONE_LESSON_MODULES with the reason it stays"
    )
    stale = sorted(set(ONE_LESSON_MODULES) - one_lesson)
    assert not stale, f"{stale} are no longer imported by exactly one notebook: drop them from ONE_LESSON_MODULES"
    assert all(ONE_LESSON_MODULES.values())


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


def test_a_relative_cross_domain_import_is_caught(tmp_path):
    copy = planted(tmp_path, "tabular/uses_vision.py", '"""Plant."""\nfrom ..vision import images\n')
    found = violations(copy)
    assert any(
        "tabular/uses_vision.py:2" in v and "'tabular' imports 'vision' (coursekit.vision.images)" in v for v in found
    ), found


def test_the_core_importing_a_domain_relatively_is_caught(tmp_path):
    copy = planted(tmp_path, "planted.py", '"""Plant."""\nfrom .vision import models\n')
    found = violations(copy)
    assert any(
        "planted.py:2: the core imports the domain package 'vision' (coursekit.vision.models)" in v for v in found
    )


def test_a_relative_import_within_a_domain_passes_and_one_above_the_package_is_caught(tmp_path):
    copy = planted(tmp_path, "vision/near.py", '"""Plant."""\nfrom . import images\nfrom .. import core\n')
    (copy / "vision/far.py").write_text('"""Plant."""\nfrom ... import elsewhere\n')
    found = violations(copy)
    assert not any("vision/near.py" in v for v in found), found
    assert any("vision/far.py:2: a relative import climbs above" in v for v in found), found


def test_a_sys_modules_lookup_is_caught(tmp_path):
    copy = planted(
        tmp_path,
        "tabular/sneaky.py",
        '"""Plant."""\nimport sys\n\nimages = sys.modules["coursekit.vision.images"]\n',
    )
    (copy / "text/sneaky.py").write_text('"""Plant."""\nfrom sys import modules\n')
    (copy / "text/builtin.py").write_text('"""Plant."""\nimages = __import__("coursekit.vision.images")\n')
    found = violations(copy)
    assert any("tabular/sneaky.py:4: reads sys.modules" in v for v in found), found
    assert any("text/sneaky.py:2: imports sys.modules" in v for v in found), found
    assert any("text/builtin.py:2: import by string (__import__)" in v for v in found), found


def test_only_the_named_core_modules_import_samples(tmp_path):
    assert all((PACKAGE / rel).exists() for rel in SAMPLES_USERS)
    copy = planted(tmp_path, "planted.py", '"""Plant."""\nfrom coursekit.samples import cartoons\n')
    found = violations(copy)
    assert any("planted.py:2: the core module imports coursekit.samples.cartoons" in v for v in found), found
    assert not any(v.startswith("datasets.py") for v in found), found  # the one that may


def test_samples_may_import_coursekit_core_itself_not_a_module_whose_name_starts_with_it(tmp_path):
    copy = planted(tmp_path, "core_extra.py", '"""Plant: a core module whose name begins with core."""\n')
    (copy / "samples/planted.py").write_text(
        '"""Plant."""\nfrom coursekit.core import seed_everything\nfrom coursekit import core_extra\n'
    )
    found = violations(copy)
    assert any("samples/planted.py:3: samples import coursekit.core_extra" in v for v in found), found
    assert not any("samples/planted.py:2" in v for v in found), found
