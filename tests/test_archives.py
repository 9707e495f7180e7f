"""Archives: listing one to its end tells an archive from a page or a truncated file; extraction is safe."""

import hashlib
import io
import tarfile
import zipfile

import pytest

from coursekit.archives import ArchiveError, extract_archive, list_archive

NOISE = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(3000))  # 96 KB that gzip cannot shrink


def make_tgz(path, members):
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def test_extract_tgz_and_zip(tmp_path):
    make_tgz(tmp_path / "a.tgz", {"top/x.txt": b"x", "top/sub/y.txt": b"y"})
    out = extract_archive(tmp_path / "a.tgz", tmp_path / "a")
    assert (out / "top" / "sub" / "y.txt").read_bytes() == b"y"
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as z:
        z.writestr("top/z.txt", "z")
    assert (extract_archive(tmp_path / "b.zip", tmp_path / "b") / "top" / "z.txt").read_text() == "z"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.tgz", "b", "b.zip"]  # no temporary folders


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "top/../../evil.txt"])
def test_archive_escaping_its_folder_is_refused(tmp_path, name):
    make_tgz(tmp_path / "evil.tgz", {"top/ok.txt": b"ok", name: b"gotcha"})
    with pytest.raises(ArchiveError, match="outside"):
        extract_archive(tmp_path / "evil.tgz", tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as z:
        z.writestr(name, "gotcha")
    with pytest.raises(ArchiveError, match="outside"):
        extract_archive(tmp_path / "evil.zip", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tgz", "evil.zip"]


def test_a_truncated_tgz_is_a_clear_error_naming_it_not_a_bare_eof(tmp_path):
    make_tgz(tmp_path / "whole.tgz", {"top/a.bin": NOISE, "top/b.bin": NOISE[::-1]})
    data = (tmp_path / "whole.tgz").read_bytes()
    (tmp_path / "cut.tgz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError) as e:
        extract_archive(tmp_path / "cut.tgz", tmp_path / "out")
    assert str(e.value).startswith(f"{tmp_path / 'cut.tgz'} is a damaged gzip archive (EOFError: Compressed file ended")
    assert "cut short while downloading" in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.tgz", "whole.tgz"]  # nothing half extracted
    assert list_archive(tmp_path / "whole.tgz") == ["top/a.bin", "top/b.bin"]


@pytest.mark.parametrize(
    "content, begins",
    [(b"<!DOCTYPE html>\n<html><title>404 Not Found</title>", "<!DOCTYPE html> <html>"), (b"", "(empty)")],
)
def test_a_file_that_is_no_archive_says_how_it_begins(tmp_path, content, begins):
    (tmp_path / "data.tgz").write_bytes(content)
    with pytest.raises(ArchiveError, match="is neither a zip nor a tar archive: it begins with") as e:
        list_archive(tmp_path / "data.tgz")
    assert begins in str(e.value) and "error page" in str(e.value)


def test_a_truncated_zip_is_damaged(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr("top/a.bin", NOISE)
    data = (tmp_path / "a.zip").read_bytes()
    (tmp_path / "a.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="a.zip is a damaged zip archive"):
        extract_archive(tmp_path / "a.zip", tmp_path / "out")
