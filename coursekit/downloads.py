"""Downloads that never leave a corrupt file behind: checksum, resume, atomic replace, progress.

A file is streamed to ``<dest>.part`` next to its destination; an interrupted transfer keeps the
``.part`` so the next call resumes it (HTTP Range) or restarts; only a complete file whose checksum
matches is moved into place with ``os.replace``, which is atomic. A file already in place with the right
checksum is returned without any request.
"""
import hashlib
import os
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlparse

CHUNK = 1 << 16


class DownloadError(Exception):
    """A download failed or gave the wrong bytes."""


class OfflineError(DownloadError):
    """The data's host cannot be reached."""


def file_hash(path, algo="sha256"):
    """Hex digest of a file (``sha256`` or ``md5``), read in chunks."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checksum_ok(path, sha256=None, md5=None):
    """True when ``path`` matches the given checksum(s) (or when none is given)."""
    return ((sha256 is None or file_hash(path, "sha256") == sha256.lower())
            and (md5 is None or file_hash(path, "md5") == md5.lower()))


def format_size(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


class Progress:
    """A download progress line: ``\\r`` updates on a terminal, a few lines in a log or notebook."""

    def __init__(self, name, total, out=None):
        self.name, self.total, self.out = name, total, out or sys.stdout
        self.start, self.last, self.last_pct = time.time(), 0.0, -1
        self.tty = hasattr(self.out, "isatty") and self.out.isatty()

    def update(self, done, final=False):
        now = time.time()
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        total = f"/{format_size(self.total)}" if self.total else ""
        line = f"{self.name}: {format_size(done)}{total} at {format_size(rate)}/s"
        if self.tty:
            self.out.write("\r" + line.ljust(79) + ("\n" if final else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _mirror_source(url, mirror):
    """Where ``url`` is found under ``mirror``: a local file, or a URL under a base URL."""
    name = Path(urlparse(url).path).name
    if "://" in mirror and not mirror.startswith("file://"):
        return mirror.rstrip("/") + "/" + name
    folder = Path(mirror[len("file://"):] if mirror.startswith("file://") else mirror)
    return folder / name


def download_url(url, dest, *, sha256=None, md5=None, size=None, progress=True, timeout=30, mirror=None):
    """Download ``url`` to ``dest`` (verified, atomic, resumable); returns ``dest`` as a Path.

    ``mirror`` (or the ``COURSEKIT_MIRROR`` environment variable) is a base URL or a local folder holding
    the same file names, used instead of ``url``'s host.
    """
    dest = Path(dest)
    if dest.exists() and checksum_ok(dest, sha256, md5):
        return dest  # served from the cache, no request
    dest.parent.mkdir(parents=True, exist_ok=True)
    mirror = mirror or os.environ.get("COURSEKIT_MIRROR")
    source = _mirror_source(url, mirror) if mirror else url
    part = dest.with_name(dest.name + ".part")
    if isinstance(source, Path):
        if not source.exists():
            raise DownloadError(f"The mirror folder has no {source.name} (looked for {source}); copy it there "
                                "or unset COURSEKIT_MIRROR.")
        shutil.copyfile(source, part)
    else:
        _fetch(source, part, size, progress, timeout, dest)
    if not checksum_ok(part, sha256, md5):
        got = file_hash(part, "sha256" if sha256 else "md5")
        part.unlink()
        raise DownloadError(f"Checksum mismatch for {source}: expected {sha256 or md5}, got {got}. The file "
                            "was deleted; nothing was cached. Try again (the server may have sent an error "
                            "page or a changed file); if it persists, the registry entry may be out of date.")
    if sha256 is None and md5 is None:
        print(f"{dest.name}: no checksum is recorded; sha256 {file_hash(part)} (pin it in the registry).")
    os.replace(part, dest)
    return dest


def _fetch(url, part, size, progress, timeout, dest):
    """Stream ``url`` into ``part``, resuming from what is there when the server supports ranges."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "coursekit"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the range is past the end: the .part is complete, or junk
            return
        raise DownloadError(f"{url} answered HTTP {e.code} {e.reason}.") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise OfflineError(
            f"Cannot reach {urlparse(url).netloc} to download {url} ({reason}).\n"
            "- Without a network, use the offline sample data: set mode = 'sample' in the notebook's parameters "
            "cell, or COURSEKIT_MODE=sample in the environment.\n"
            f"- Or put the file there yourself: {dest}\n"
            "- Or point COURSEKIT_MIRROR at a local folder or a server that has it.") from None
    with response:
        resumed = response.status == 206
        mode = "ab" if resumed else "wb"  # a 200 means the server sent everything again: start over
        length = response.headers.get("Content-Length")
        expected = int(length) + (have if resumed else 0) if length else size
        done = have if resumed else 0
        bar = Progress(dest.name, expected) if progress else None
        with open(part, mode) as f:
            try:
                while block := response.read(CHUNK):
                    f.write(block)
                    done += len(block)
                    if bar:
                        bar.update(done)
            except (OSError, urllib.error.URLError) as e:
                raise DownloadError(f"The download of {url} broke off after {format_size(done)} ({e}); "
                                    f"call again to resume from {part}.") from None
        if bar:
            bar.update(done, final=True)
    if expected is not None and done < expected:
        raise DownloadError(f"The download of {url} stopped after {format_size(done)} of {format_size(expected)}; "
                            f"call again to resume from {part}.")


def _safe_members(names, dest_dir):
    root = Path(dest_dir).resolve()
    for name in names:
        target = (root / name).resolve()
        if not target.is_relative_to(root) or Path(name).is_absolute():
            raise DownloadError(f"Refusing to extract {name!r}: it would land outside {root}.")


def extract_archive(archive, dest_dir):
    """Extract a .tgz/.tar.gz/.tar/.zip into ``dest_dir`` via a temporary sibling folder (atomic rename)."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    tmp = dest_dir.with_name(dest_dir.name + ".extracting")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                _safe_members(z.namelist(), tmp)
                z.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                _safe_members(t.getnames(), tmp)
                t.extractall(tmp, filter="data")
        else:
            raise DownloadError(f"{archive} is neither a zip nor a tar archive.")
        shutil.rmtree(dest_dir, ignore_errors=True)
        os.replace(tmp, dest_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest_dir
