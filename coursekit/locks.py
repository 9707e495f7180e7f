"""Several processes sharing one cache folder: a lock beside it, a finished folder put in place whole, and
the temporary folders of runs that were killed half-way cleaned up.

The pattern (``datasets`` uses it for samples and full datasets)::

    with folder_lock(dest) as since:           # one process at a time builds dest
        if complete(dest): return dest         # another one finished it while we waited
        remove_leftovers(dest, "generating", since)
        ... build into tmp = dest.with_name(f"{dest.name}.generating-{os.getpid()}") ...
        swap_into_place(tmp, dest)
"""

import contextlib
import os
import shutil
import time

from filelock import FileLock, Timeout


def pid_alive(pid):
    """Whether a process ``pid`` exists (on this machine); True where that cannot be told."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there
        return True
    try:
        os.kill(pid, 0)  # signal 0: no signal is sent, only whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists but belongs to someone else
        return True
    return True


@contextlib.contextmanager
def folder_lock(folder, waiting=None):
    """Hold the exclusive lock ``<folder>.lock`` while the block runs; yields the time it was acquired.

    ``waiting`` is printed when another process holds the lock, so a notebook that waits says why. The lock is
    filelock's (on Unix its file stays: deleting a lock file that others wait on would let two processes in at
    once); the lock itself goes with the process, so a killed process never leaves the folder locked.
    """
    lock = FileLock(folder.with_name(folder.name + ".lock"))  # flock on Unix, msvcrt's lock on Windows
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if waiting:
            print(waiting, flush=True)
        lock.acquire()
    try:
        yield time.time()
    finally:
        lock.release()


def remove_leftovers(folder, tag, since=None):
    """Delete the ``<folder>.<tag>-<pid>`` siblings that runs killed half-way left; returns their names.

    One is stale when its process is gone, or (``since``: when the caller got the folder's lock) when it
    was last changed before that: folders are only built under the lock, so nobody is still building it.
    """
    removed = []
    prefix = f"{folder.name}.{tag}-"
    for path in folder.parent.iterdir() if folder.parent.is_dir() else []:
        pid = path.name[len(prefix) :]
        if not path.name.startswith(prefix) or not pid.isdigit() or int(pid) == os.getpid():
            continue
        if not pid_alive(int(pid)) or (since is not None and path.stat().st_mtime < since):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def swap_into_place(tmp, dest):
    """Put the finished folder ``tmp`` at ``dest``, replacing what is there.

    The old folder is renamed aside and deleted afterwards, so a reader listing ``dest`` sees the old
    folder whole or the new one whole, never one half deleted.
    """
    old = dest.with_name(f"{dest.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.exists():
        os.replace(dest, old)
    os.replace(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest
