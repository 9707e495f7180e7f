"""requirements-lock.txt (what `make` installs, hash-checked) pins what requirements.txt and
requirements-dev.txt ask for: a pin changed there without `make lock` would not reach anyone's .venv."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def pins(path):
    """{name: version} of the ``name==version`` lines of a requirements file (its ``-r`` includes followed)."""
    found = {}
    for line in (REPO / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found.update(pins(line[3:].strip()))
        elif match := re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", line):
            found[match[1].lower().replace("_", "-")] = match[2]
    return found


def locked():
    """{name: (version, number of hashes)} of requirements-lock.txt; a package may be pinned per platform."""
    text = (REPO / "requirements-lock.txt").read_text()
    entries = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        if match := re.match(r"([A-Za-z0-9._-]+)==(\S+)", block):
            name = match[1].lower().replace("_", "-")
            entries.setdefault(name, []).append((match[2], block.count("--hash=sha256:")))
    return entries


def test_the_lock_pins_every_requirement_at_its_version_with_hashes():
    wanted, lock = pins("requirements-dev.txt"), locked()
    assert "torch" in wanted and "pytest" in wanted  # the runtime file is included, and the tools
    stale = {n: v for n, v in wanted.items() if [x for x, _ in lock.get(n, [])] != [v]}
    assert not stale, f"requirements-lock.txt does not pin {stale}: run make lock and commit requirements-lock.txt"
    unhashed = [n for n, entries in lock.items() if any(count == 0 for _, count in entries)]
    assert not unhashed, f"locked without a hash: {unhashed}"


def test_runtime_and_development_requirements_are_apart():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert set(runtime) < set(dev)
    assert not {"pytest", "nbval", "ruff", "selenium", "uv"} & set(runtime)
