"""The cache folders' lock (filelock): a process killed while holding it leaves the folder free. Waiting for a
live holder and the leftovers of killed runs are tested through the data cache (test_datasets_cache.py)."""

import subprocess
import sys
import threading

from coursekit.locks import folder_lock, swap_into_place

HOLD_AND_DIE = """
import os, signal, sys
from pathlib import Path
from coursekit.locks import folder_lock
with folder_lock(Path(sys.argv[1])):
    print("held", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # killed with the lock held: no release, no cleanup
"""


def test_a_process_killed_holding_the_lock_leaves_the_folder_free(tmp_path, capsys):
    folder = tmp_path / "dogscats"
    run = subprocess.run([sys.executable, "-c", HOLD_AND_DIE, str(folder)], capture_output=True, text=True)
    assert run.stdout == "held\n" and run.returncode == -9, run.stderr
    assert (tmp_path / "dogscats.lock").exists()  # the file stays; the lock went with the process

    got = []

    def take():
        with folder_lock(folder, "Waiting for another process..."):
            got.append(True)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    thread.join(30)
    assert got and "Waiting" not in capsys.readouterr().out


def test_swap_into_place_replaces_a_folder_whole(tmp_path):
    dest, tmp = tmp_path / "data", tmp_path / "data.generating-1"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    tmp.mkdir()
    (tmp / "new.txt").write_text("new")
    swap_into_place(tmp, dest)
    assert [p.name for p in tmp_path.iterdir()] == ["data"] and [p.name for p in dest.iterdir()] == ["new.txt"]
