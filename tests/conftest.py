"""Shared fixtures: where ../shared/data is (tests that need it skip cleanly without it)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

SHARED_DATA = Path(
    os.environ.get("EGVS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared data is not present on this machine)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


def benchmark_module(name: str) -> Iterator[ModuleType]:
    """``benchmarks/<name>.py`` imported as a module for the time a fixture yields it (the
    benchmarks are scripts, not a package); module-scoped fixtures ``yield from`` it."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """The test session uses its own feature cache, never the user's ~/.cache/egvs.

    Session-scoped so that it is in place before any module-scoped fixture analyses a video.
    """
    old = os.environ.get("EGVS_CACHE_DIR")
    os.environ["EGVS_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "egvs-cache")
    yield
    if old is None:
        os.environ.pop("EGVS_CACHE_DIR", None)
    else:
        os.environ["EGVS_CACHE_DIR"] = old


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A folder this process cannot write to: mode 555, or for root (who may write anywhere)
    the immutable attribute; skips when neither holds here."""
    import shutil
    import subprocess

    folder = tmp_path / "read-only"
    folder.mkdir()
    immutable = os.geteuid() == 0
    if immutable:
        if shutil.which("chattr") is None:
            pytest.skip("root needs chattr to make a folder read-only")
        subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    else:
        folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        pass
    else:
        (folder / "probe").unlink()
        pytest.skip("cannot make a read-only folder on this file system")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o755)
