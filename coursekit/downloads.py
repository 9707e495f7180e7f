"""Downloads that never leave a corrupt file behind: checksum, resume, atomic replace, progress.

A file is streamed to ``<dest>.part`` next to its destination. An interrupted transfer keeps the
``.part`` so the next attempt resumes it (HTTP Range) or, if the server ignores ranges, starts over.
Only a complete file whose checksum matches is moved into place with ``os.replace``, which is atomic,
so ``dest`` is either absent, the old good file, or the new good file. A file already in place with
the right checksum is returned without any request. Archives are checked and extracted by ``archives``.

Written here because the well-kept download helpers (torch.hub's ``download_url_to_file``, pooch) check a
checksum but start an interrupted transfer again from zero, and the full datasets run to gigabytes.
"""

import hashlib
import http.client
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from coursekit.download_progress import Progress, format_size

CHUNK = 1 << 16
RETRY_WAIT = 1.0  # seconds; the n-th retry waits n - 1 times this


class DownloadError(Exception):
    """A download failed or gave the wrong bytes."""


class OfflineError(DownloadError):
    """The data's host cannot be reached."""


class DownloadTimeout(DownloadError):
    """The host was reached but sent nothing for ``timeout`` seconds (no answer, or a stalled transfer)."""


class _BrokenTransfer(DownloadError):
    """The connection broke off mid-file; the ``.part`` is kept and the transfer can resume."""


class _Stalled(_BrokenTransfer):
    """The connection stayed open but no data came for ``timeout`` seconds; the ``.part`` is kept."""


def file_hash(path, algo="sha256"):
    """Hex digest of a file (``sha256`` or ``md5``), read in chunks."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _mismatch(path, sha256=None, md5=None, size=None):
    """None when ``path`` matches what is known of it, else ``(what, expected, actual)``."""
    if size is not None and path.stat().st_size != size:  # cheap, so checked before hashing
        return "size", f"{size} bytes", f"{path.stat().st_size} bytes"
    for algo, want in (("sha256", sha256), ("md5", md5)):
        if want is not None:
            got = file_hash(path, algo)
            if got != want.lower():
                return algo, want.lower(), got
    return None


def _mirror_source(url, mirror):
    """Where ``url``'s file is under ``mirror``: a URL under a base URL, or a Path in a local folder."""
    name = Path(urlparse(url).path).name
    if "://" in mirror and not mirror.startswith("file://"):
        return mirror.rstrip("/") + "/" + name
    folder = Path(mirror[len("file://") :] if mirror.startswith("file://") else mirror)
    return folder / name


def download_url(
    url,
    dest,
    *,
    sha256=None,
    md5=None,
    size=None,
    progress=True,
    timeout=30,
    retries=3,
    mirror=None,
    force=False,
    check=None,
    deadline=None,
):
    """Download ``url`` to ``dest`` (verified, atomic, resumable); returns ``dest`` as a Path.

    ``mirror`` (or the ``COURSEKIT_MIRROR`` environment variable) is a base URL or a local folder
    holding the same file names, used instead of ``url``'s host. A transfer that breaks off or stalls for
    ``timeout`` seconds is resumed up to ``retries`` times before giving up (the ``.part`` stays for the
    next call, which resumes it only when a checksum will prove the result). ``force`` downloads again even
    when a good copy is cached; that copy stays until the new one is verified. ``check(path)`` raises
    ``ValueError`` when a finished download is unusable (``archives.list_archive`` for an archive): it is
    then deleted instead of cached. ``deadline`` (seconds, or None for no limit) bounds the whole call, retries
    included: ``timeout`` only bounds each wait, so a server that trickles a byte a second never times out.
    Without a checksum a broken transfer starts again from byte 0: nothing could prove bytes spliced onto a part.
    """
    dest = Path(dest)
    if not force and dest.exists() and _mismatch(dest, sha256, md5, size) is None:
        return dest  # served from the cache: no request at all
    dest.parent.mkdir(parents=True, exist_ok=True)
    mirror = mirror or os.environ.get("COURSEKIT_MIRROR")
    source = _mirror_source(url, mirror) if mirror else url
    part = dest.with_name(dest.name + ".part")
    checksum = sha256 is not None or md5 is not None
    if part.exists() and not checksum:
        part.unlink()  # bytes of unknown age: nothing could prove a file spliced onto them, so start from zero
        if progress:
            print(f"{part.name}: no checksum would prove a resumed file, so the download starts from zero.")
    if isinstance(source, Path):
        if not source.is_file():
            raise DownloadError(
                f"The mirror folder has no {source.name} (looked for {source}); copy it "
                "there, or unset COURSEKIT_MIRROR to download from the original host."
            )
        shutil.copyfile(source, part)
        resumed = False
    else:
        again = f"call again to resume from {part}" if checksum else "call again to download it from the start"
        end = None if deadline is None else time.monotonic() + deadline
        fetch = (source, part, dest, size, progress, timeout, retries, again, checksum, (deadline, end))
        resumed = _fetch_with_retries(*fetch)
    bad = _mismatch(part, sha256, md5, size)
    if bad and resumed:
        # The kept .part may have come from an older version of the file: one clean try from zero.
        part.unlink()
        _fetch_with_retries(*fetch)
        bad = _mismatch(part, sha256, md5, size)
    if bad:
        part.unlink()
        what, expected, actual = bad
        raise DownloadError(
            f"Checksum mismatch for {source}: expected {what} {expected}, got {actual}. The download was "
            "deleted, nothing was cached. Call again to retry (the server may have sent an error page or a "
            "truncated file); if it keeps happening the file has changed upstream and the registry entry "
            "needs updating, or put a good copy in place by hand."
        )
    if check is not None:
        try:
            check(part)
        except ValueError as e:
            part.unlink()
            raise DownloadError(
                f"The download of {source} is unusable: {e} It was deleted, nothing was cached. Call again to "
                f"retry; if it keeps happening, fetch the file another way and put it at {dest}, or set "
                "COURSEKIT_MIRROR to a folder or server that has it."
            ) from None
    if not checksum:
        print(f"{dest.name}: no checksum is recorded; its sha256 is {file_hash(part)} (pin it in the registry).")
    os.replace(part, dest)
    return dest


def _fetch_with_retries(url, part, dest, size, progress, timeout, retries, again, resume, deadline):
    """``_fetch``, again after broken or stalled transfers (resuming them when ``resume``: only a checksum proves a
    spliced file); True when any bytes were kept from before."""
    resumed = False
    for attempt in range(retries + 1):
        try:
            return _fetch(url, part, dest, size, progress, timeout, resume, deadline) or resumed
        except _BrokenTransfer as e:
            resumed = resume
            if attempt == retries:
                error = DownloadTimeout if isinstance(e, _Stalled) else DownloadError
                tries = f"{retries + 1} attempts" if retries else "1 attempt"
                raise error(f"{e} Gave up after {tries}; {again}.") from None
            if progress:
                how = "Resuming" if resume else "Starting again from zero (no checksum would prove a resumed file)"
                print(f"{e} {how} (attempt {attempt + 2} of {retries + 1}).")
            time.sleep(RETRY_WAIT * attempt)  # first retry at once: a dropped connection often resumes fine


def _past_deadline(url, deadline, done, expected, resume, part):
    """The error for a download unfinished when its ``deadline`` (``(seconds, end time)``) has passed."""
    total, rate = f" of {format_size(expected)}" if expected else "", format_size(int(done / max(deadline[0], 1e-6)))
    kept = f"what came is kept in {part} to resume" if resume else "without a checksum the next call starts from zero"
    return DownloadTimeout(
        f"The download of {url} did not finish within deadline={deadline[0]:g} s: {format_size(done)}{total} came "
        f"({rate}/s); {kept}. The server is sending too slowly: call again later, pass a larger deadline (or "
        "deadline=None for no limit), or set COURSEKIT_MIRROR to a local folder or a server with the same files."
    )


def _fetch(url, part, dest, size, progress, timeout, resume=True, deadline=(None, None)):
    """Stream ``url`` into ``part``, appending to what is there when ``resume`` and the server honours Range."""
    if not resume:
        part.unlink(missing_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "coursekit"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    host = urlparse(url).netloc
    end = deadline[1]
    capped = end is not None and end - time.monotonic() < timeout  # then a wait may end at the deadline
    if capped:
        if time.monotonic() >= end:
            raise _past_deadline(url, deadline, have, size, resume, part)
        timeout = end - time.monotonic()
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the range starts past the end: the .part is already whole (or junk)
            return True
        if e.code >= 500 or e.code == 429:
            raise _BrokenTransfer(f"{url} answered HTTP {e.code} {e.reason}.") from None
        raise DownloadError(
            f"{url} answered HTTP {e.code} {e.reason}; check the URL, or use a mirror (COURSEKIT_MIRROR)."
        ) from None
    except TimeoutError:  # urlopen wraps errors while connecting in URLError, not the wait for an answer
        if capped:
            raise _past_deadline(url, deadline, have, size, resume, part) from None
        raise DownloadTimeout(
            f"{host} accepted the connection but sent no answer within {timeout} s (downloading {url}). The "
            "network is up; that server is slow or stuck. Call again later, or set COURSEKIT_MIRROR to a "
            "local folder or a server that has the same file names."
        ) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise OfflineError(
            f"Cannot reach {host} to download {url} ({reason}).\n"
            "- Without a network, use the offline sample data: set mode = 'sample' in the notebook's "
            "parameters cell, or COURSEKIT_MODE=sample in the environment.\n"
            f"- Or put the file there by hand (it is checksum-verified): {dest}\n"
            "- Or set COURSEKIT_MIRROR to a local folder or a server that has the same file names."
        ) from None
    with response:
        resumed = have > 0 and response.status == 206
        length = response.headers.get("Content-Length")
        done = have if resumed else 0  # a 200 means the whole file is coming again: start over
        expected = int(length) + done if length else size
        bar = Progress(dest.name, expected) if progress else None
        with open(part, "ab" if resumed else "wb") as f:
            try:
                while block := response.read1(CHUNK):  # read1: what has come, so a stall keeps it in the .part
                    f.write(block)
                    done += len(block)
                    if bar:
                        bar.update(done)
                    if end is not None and time.monotonic() >= end:  # a trickle never stalls: the total counts
                        raise _past_deadline(url, deadline, done, expected, resume, part)
            except TimeoutError:  # the socket's timeout applies to each read: a stall, not a slow download
                if capped:
                    raise _past_deadline(url, deadline, done, expected, resume, part) from None
                raise _Stalled(
                    f"The download of {url} stalled: {host} sent nothing for {timeout} s after {format_size(done)}."
                ) from None
            except (OSError, http.client.HTTPException) as e:  # reset, IncompleteRead
                raise _BrokenTransfer(
                    f"The download of {url} broke off after {format_size(done)} ({type(e).__name__})."
                ) from None
        if bar:
            bar.update(done, final=True)
    if expected is not None and done < expected:
        raise _BrokenTransfer(f"The download of {url} stopped after {format_size(done)} of {format_size(expected)}.")
    return resumed
