import pytest

from coursekit import datasets


def test_mode_from_argument_environment_and_auto(monkeypatch):
    monkeypatch.delenv("COURSEKIT_MODE", raising=False)
    assert datasets.get_mode("full") == "full"
    assert datasets.get_mode("auto") in ("sample", "full")
    monkeypatch.setenv("COURSEKIT_MODE", "sample")
    assert datasets.get_mode("full") == "sample"  # the environment wins
    monkeypatch.setenv("COURSEKIT_MODE", "fast")
    with pytest.raises(ValueError, match="sample"):
        datasets.get_mode()
    assert "sample" in datasets.describe_mode("sample")


def test_sample_is_generated_once_then_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path))
    calls = []

    @datasets.register_sample("tiny_test")
    def make(dest, seed):
        calls.append(seed)
        (dest / "file.txt").write_text(f"seed {seed}")

    try:
        first = datasets.get_data("tiny_test", mode="sample")
        second = datasets.get_data("tiny_test", mode="sample")
        assert first == second == tmp_path / "sample" / "tiny_test"
        assert (first / "file.txt").read_text() == "seed 0" and calls == [0]
        datasets.get_data("tiny_test", mode="sample", seed=3)
        assert calls == [0, 3]
    finally:
        del datasets.SAMPLES["tiny_test"]


def test_interrupted_generation_is_not_taken_for_data(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path))

    @datasets.register_sample("broken_test")
    def make(dest, seed):
        (dest / "half.txt").write_text("half")
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            datasets.get_data("broken_test", mode="sample")
        assert not (tmp_path / "sample" / "broken_test").exists()
    finally:
        del datasets.SAMPLES["broken_test"]


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(KeyError, match="dogscats"):
        datasets.get_data("dogs_and_ponies", mode="sample")


def test_full_mode_offline_fails_at_once_with_the_way_out(monkeypatch, tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path))
    monkeypatch.setenv("COURSEKIT_MIRROR", f"http://127.0.0.1:{port}")  # stands in for "no network"
    monkeypatch.delenv("COURSEKIT_MODE", raising=False)
    from coursekit.downloads import OfflineError
    with pytest.raises(OfflineError, match="sample"):
        datasets.get_data("dogscats", mode="full")
    assert not (tmp_path / "dogscats").exists()


def test_registry_entries_are_complete_and_listed():
    for info in datasets.DATASETS.values():
        assert info.url.startswith(("http://", "https://")) and info.lesson
    assert "dogscats" in datasets.list_datasets()
    assert "dogscats" in repr(datasets.DATASETS["dogscats"])
