"""The data cache shared by several processes (a lock per dataset folder, leftovers of killed runs), and a
cache folder that cannot be used (``COURSEKIT_DATA`` a file, or read-only)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import coursekit
from coursekit import datasets, samples

N_FILES = 300

# A process that asks for a slow sample once told to go, then lists the folder it got for a while.
RACER = f"""
import os, sys, time
from pathlib import Path
from coursekit import datasets, samples

def make(dest, seed):
    with open(os.environ["RACE_LOG"], "a") as log:
        log.write(f"{{os.getpid()}}\\n")  # one line per generation
    for i in range({N_FILES}):
        (dest / f"{{i}}.png").write_bytes(b"png")
        time.sleep(0.001)

samples.SAMPLES["race_test"] = samples.Sample(make)  # registered here: the child has its own registry
print("ready", flush=True)
go, delay = Path(sys.argv[1]), float(sys.argv[2])
while not go.exists():
    time.sleep(0.002)
time.sleep(delay)
path = datasets.get_data("race_test", mode="sample")
seen, end = set(), time.time() + 0.8
while time.time() < end:
    try:
        seen.add(len(os.listdir(path)))
    except FileNotFoundError:
        seen.add(-1)
print(sorted(seen), flush=True)
"""


def test_two_processes_asking_at_once_generate_once_and_never_see_a_partial_folder(data, tmp_path):
    script, go, log = tmp_path / "racer.py", tmp_path / "go", tmp_path / "generations.log"
    script.write_text(RACER)
    # The children import the same coursekit as this test (the checkout under test, not an installed copy).
    env = dict(
        os.environ,
        RACE_LOG=str(log),
        PYTHONPATH=os.pathsep.join([str(Path(coursekit.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    )
    # The second asks 0.1 s after the first, while the first is still generating (300 files take > 0.3 s).
    racers = [
        subprocess.Popen(
            [sys.executable, str(script), str(go), delay],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for delay in ("0", "0.1")
    ]
    try:
        for racer in racers:
            assert racer.stdout.readline().strip() == "ready", racer.stderr.read()
        go.touch()
        results = [racer.communicate(timeout=60) for racer in racers]
    finally:
        for racer in racers:
            racer.kill()
            racer.wait()
    for racer, (out, err) in zip(racers, results):
        assert racer.returncode == 0, err
        assert out.splitlines()[-1] == f"[{N_FILES + 1}]", out  # every listing whole: the files and the stamp
    assert len(log.read_text().split()) == 1  # the second waited for the first and used its folder
    assert "Waiting for another process that is generating the race_test sample" in results[1][0]
    assert sorted(p.name for p in (data / "sample").iterdir()) == ["race_test", "race_test.lock"]


def dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def sample(monkeypatch):
    """Register a tiny sample generator."""

    def make(dest, seed):
        (dest / "a.txt").write_text("a")

    monkeypatch.setitem(samples.SAMPLES, "tiny_test", samples.Sample(make))


def test_temporary_folders_of_killed_generations_are_removed(data, sample, capsys):
    folder = data / "sample"
    folder.mkdir(parents=True)
    stale = [
        folder / f"tiny_test.generating-{dead_pid()}",
        folder / f"tiny_test.old-{dead_pid()}",
        folder / f"tiny_test.generating-{os.getppid()}",
    ]  # alive, but made before we held the lock
    for path in stale:
        path.mkdir()
        (path / "half.png").write_bytes(b"half")
        os.utime(path, (1, 1))
    (folder / "other.generating-1").mkdir()  # another dataset's: not ours to judge
    path = datasets.get_data("tiny_test", mode="sample")
    assert (path / "a.txt").read_text() == "a"
    assert sorted(p.name for p in folder.iterdir()) == ["other.generating-1", "tiny_test", "tiny_test.lock"]
    out = capsys.readouterr().out
    assert all(f"Removed {p.name}: a run stopped half-way left it." in out for p in stale)


def test_coursekit_data_naming_a_file_is_a_clear_error(data, monkeypatch, tmp_path, sample):
    (tmp_path / "notes.txt").write_text("not a folder")
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "notes.txt"))
    with pytest.raises(NotADirectoryError) as e:
        datasets.get_data("tiny_test", mode="sample")
    assert f"The data cache COURSEKIT_DATA={tmp_path / 'notes.txt'} is a file, not a folder." in str(e.value)
    assert "Set COURSEKIT_DATA to a folder you can write to" in str(e.value) and "or unset it" in str(e.value)
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "notes.txt" / "data"))  # a folder below a file
    with pytest.raises(OSError, match="COURSEKIT_DATA=.*notes.txt/data cannot be created"):
        datasets.data_dir()


def test_a_read_only_cache_is_a_clear_error_when_something_must_be_written(data, monkeypatch, sample):
    """The folder is really made read-only; root may write anyway, so then ``os.access`` is made to answer as
    it does for everyone else. What is checked: coursekit asks before writing and says what to do."""
    datasets.get_data("tiny_test", mode="sample")  # cached while writable
    data.chmod(0o555)
    (data / "sample").chmod(0o555)
    try:
        if os.geteuid() == 0:
            real_access = os.access
            monkeypatch.setattr(
                os,
                "access",
                lambda path, mode, **kw: (
                    False if mode & os.W_OK and Path(path).is_relative_to(data) else real_access(path, mode, **kw)
                ),
            )
        assert datasets.get_data("tiny_test", mode="sample") == data / "sample" / "tiny_test"  # reading: fine
        with pytest.raises(PermissionError) as e:
            datasets.get_data("tiny_test", mode="sample", seed=1)  # must be generated: cannot be
        assert f"The data cache COURSEKIT_DATA={data} is read-only for you" in str(e.value)
        assert "Set COURSEKIT_DATA to a folder you can write to" in str(e.value)
    finally:
        (data / "sample").chmod(0o755)
        data.chmod(0o755)
