"""Feature cache: per-video stage outputs keyed by (file content hash, stage config).

Lives in ``$EGVS_CACHE_DIR`` (default ``~/.cache/egvs``): ``features/<hash>/<stage>-<config>.npz``
for per-video features and ``models/`` for models EGVS builds once (e.g. the ONNX conversion of
the ImageNet CNN). A new budget, new fusion weights or a new scorer reuse the features; a new
feature config or model is a new key. Files are written atomically, so an interrupted run never
leaves a corrupt entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from egvs.atomic import atomic_write  # also imported from here by the stages that write models

CACHE_VERSION = 1
logger = logging.getLogger("egvs")


def cache_dir() -> Path:
    """EGVS's cache root, the one place it is decided: ``$EGVS_CACHE_DIR``, else ``~/.cache/egvs``."""
    return Path(os.environ.get("EGVS_CACHE_DIR") or Path.home() / ".cache" / "egvs")


def model_dir() -> Path:
    """The folder of the models EGVS builds once (`egvs.model_files.CACHED` says which)."""
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_digest(path: str | Path) -> str:
    """SHA-256 of the file's content (so renaming or copying a video keeps its cache)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def config_key(stage: str, config: dict) -> str:
    text = json.dumps(
        {"stage": stage, "config": config, "v": CACHE_VERSION}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class FeatureCache:
    """Load and store one video's stage outputs (dicts of arrays).

    The cache only ever saves time: an entry that cannot be read (truncated, corrupt, another
    format) is a miss, and a cache that cannot be written (read-only, full) is skipped with one
    warning; neither stops the analysis.
    """

    def __init__(self, digest: str, enabled: bool = True, root: Path | None = None) -> None:
        self.enabled = enabled
        self.folder = (root or cache_dir()) / "features" / digest

    def _path(self, stage: str, config: dict) -> Path:
        return self.folder / f"{stage}-{config_key(stage, config)}.npz"

    def load(self, stage: str, config: dict) -> dict[str, np.ndarray] | None:
        if not self.enabled:
            return None
        path = self._path(stage, config)
        if not path.exists():
            return None
        try:
            with np.load(path) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
            return None  # unreadable entry: recompute and overwrite

    def store(self, stage: str, config: dict, arrays: dict[str, np.ndarray]) -> None:
        if not self.enabled:
            return
        try:
            atomic_write(
                self._path(stage, config), lambda tmp: np.savez(tmp, allow_pickle=False, **arrays)
            )
        except OSError as exc:
            self.enabled = False  # warn once per video, then run without the cache
            logger.warning(
                "cannot write the feature cache (%s); going on without caching",
                exc.strerror or exc,
            )
