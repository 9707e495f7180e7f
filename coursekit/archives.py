"""Archives: check that a file is a zip or tar archive that can be read to its end, and extract one safely
(no member may land outside the target folder; the target appears whole or not at all)."""

import gzip
import lzma
import os
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path

# What a damaged (truncated, corrupt) archive raises while it is read: never a bare EOFError for the user.
DAMAGED = (EOFError, tarfile.TarError, zipfile.BadZipFile, zlib.error, gzip.BadGzipFile, lzma.LZMAError)
MAGIC = {b"\x1f\x8b": "gzip", b"PK": "zip", b"BZh": "bzip2", b"\xfd7zXZ": "xz"}
TAR_MODES = {"gzip": "r:gz", "bzip2": "r:bz2", "xz": "r:xz", "tar": "r:"}  # else tarfile tries each in turn


class ArchiveError(ValueError):
    """A file is not an archive, is damaged, or holds a member that would land outside its folder."""


def _kind(archive):
    """'gzip', 'zip', 'bzip2', 'xz', 'tar' or None, from the file's first bytes."""
    with open(archive, "rb") as f:
        head = f.read(512)
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    if len(head) == 512 and head[257:262] == b"ustar":
        return "tar"
    return None


def _start(archive):
    """The file's first bytes as text, to show what came instead of an archive (often an HTML page)."""
    with open(archive, "rb") as f:
        head = f.read(60).decode("utf-8", "replace")
    return " ".join(head.split())[:50] or "(empty)"


def list_archive(archive):
    """The member names of a zip or tar (.tgz/.tar.gz/.tar.bz2/.tar.xz) archive, read to its end.

    Raises ``ArchiveError`` saying whether the file is no archive at all (and how it begins) or a damaged one.
    """
    archive, kind = Path(archive), _kind(archive)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                return z.namelist()
        with tarfile.open(archive, TAR_MODES.get(kind, "r:*")) as t:  # reads through the whole stream
            return t.getnames()
    except DAMAGED as e:
        if kind is None:
            raise ArchiveError(
                f"{archive} is neither a zip nor a tar archive: it begins with {_start(archive)!r} "
                "(a server may have sent an error page instead of the file)."
            ) from None
        why = str(e).splitlines()[0] if str(e) else ""
        raise ArchiveError(
            f"{archive} is a damaged {kind} archive ({type(e).__name__}: {why}); it was probably "
            "cut short while downloading."
        ) from None


def _check_members(names, root):
    """Refuse archive members that would land outside ``root`` (``..`` or absolute paths)."""
    root = Path(root).resolve()
    for name in names:
        if Path(name).is_absolute() or not (root / name).resolve().is_relative_to(root):
            raise ArchiveError(f"Refusing to extract {name!r}: it would land outside {root}.")


def extract_archive(archive, dest_dir):
    """Extract a .tgz/.tar.gz/.tar/.zip into ``dest_dir`` via a temporary sibling folder (atomic rename).

    A damaged archive raises ``ArchiveError`` naming it (and leaves nothing extracted).
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    names = list_archive(archive)
    tmp = dest_dir.with_name(f"{dest_dir.name}.extracting-{os.getpid()}")  # pid: concurrent runs stay apart
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _check_members(names, tmp)
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as z:
                    z.extractall(tmp)
            else:
                with tarfile.open(archive) as t:
                    # The "data" filter also refuses links pointing outside and device files (Python >= 3.10.12).
                    kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                    t.extractall(tmp, **kwargs)
        except getattr(tarfile, "FilterError", ()) as e:  # a link pointing outside, a device file
            raise ArchiveError(f"Refusing to extract {archive}: {e}.") from None
        except DAMAGED as e:
            raise ArchiveError(f"{archive} is damaged: extracting it failed ({type(e).__name__}: {e}).") from None
        shutil.rmtree(dest_dir, ignore_errors=True)
        os.replace(tmp, dest_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest_dir
