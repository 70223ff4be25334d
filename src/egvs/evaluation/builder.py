"""Build an eccv16-layout HDF5 benchmark file from videos + annotations with the EGVS pipeline.

Layout per video (``video_{i+1}`` for the i-th annotated video, so the published split files apply):
``features`` (the ``visual`` source, one row per 0.5 s step), ``picks`` (first source frame of each
step), ``gtscore`` (mean annotator score at each pick, min-max scaled to [0, 1]), ``user_summary``
(users x frames, 0/1), ``change_points`` (KTS shots, first/last frame inclusive),
``n_frame_per_seg``, ``n_frames``, ``video_name``; EGVS additions: ``user_scores`` (users x frames,
what the rank correlations need), ``sources/<name>`` for every timeline source and
``signals/<name>`` for every named signal. The step in seconds is the ``step`` attribute of the file
and of each video group; the file's ``dataset`` attribute sets the F1 convention.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from egvs.atomic import atomic_write
from egvs.datasets.base import AnnotatedVideo
from egvs.errors import InputError, OutputError, require
from egvs.evaluation.summary import keyshot_summary, shots_from_steps, step_picks
from egvs.evaluation.videos import video_key
from egvs.media.probe import MediaInfo
from egvs.progress import logger, progress
from egvs.shots import kts_segments
from egvs.timeline import Timeline

if TYPE_CHECKING:
    import h5py

LAYOUT = "egvs.vsumm-h5/1"
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".flv", ".m4v", ".mpg", ".mpeg")
Extractor = Callable[[Path], tuple[MediaInfo, Timeline]]


def find_video(video_dir: Path, name: str) -> Path | None:
    """The video file named ``name`` (any known extension, case-insensitive) in ``video_dir``."""
    candidates = {
        p.stem.lower(): p for p in Path(video_dir).iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS
    }
    return candidates.get(name.lower())


def default_extractor(use_cache: bool = True) -> Extractor:
    """The EGVS feature pipeline (`egvs.extract`): every source of the analysis timeline."""
    from egvs.api import extract

    return lambda path: extract(path, use_cache=use_cache)


def build_dataset(
    dataset: str,
    videos: Sequence[AnnotatedVideo],
    video_dir: Path,
    out: Path,
    *,
    extract: Extractor | None = None,
    overwrite: bool = False,
    skip_missing: bool = False,
) -> list[str]:
    """Write ``out`` and return the keys written.

    Keys keep the dataset position even when ``skip_missing`` leaves videos out, so split files
    still refer to the right videos. The file is written next to ``out`` and renamed at the end:
    an interrupted build never leaves a half file behind.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputError(f"{out} exists (use --overwrite)")
    if not Path(video_dir).is_dir():
        raise InputError(f"video directory not found: {video_dir}")
    paths = {video_key(i): find_video(video_dir, v.name) for i, v in enumerate(videos)}
    missing = [v.name for i, v in enumerate(videos) if paths[video_key(i)] is None]
    if missing and not skip_missing:
        raise InputError(
            f"{len(missing)} of {len(videos)} videos not found in {video_dir} "
            f"(e.g. {missing[0]!r}); use --skip-missing to build from the others"
        )
    if len(missing) == len(videos):
        raise InputError(f"none of the {dataset} videos is in {video_dir}")
    h5py = require("h5py", "research")
    extract = extract or default_extractor()
    written: list[str] = []

    def build(tmp: Path) -> None:
        with (
            h5py.File(tmp, "w") as h5,
            progress(len(videos), f"building {dataset}", "video") as bar,
        ):
            h5.attrs.update(dataset=dataset, layout=LAYOUT)
            for i, video in enumerate(videos):
                bar.update(1)
                path = paths[video_key(i)]
                if path is None:
                    logger.warning("skipping %s: no video file", video.name)
                    continue
                media, timeline = extract(path)
                write_video(h5.create_group(video_key(i)), video, media, timeline)
                h5.attrs["step"] = timeline.grid.step
                written.append(video_key(i))

    atomic_write(out, build)
    return written


def write_video(g: h5py.Group, video: AnnotatedVideo, media: MediaInfo, timeline: Timeline) -> None:
    """One video's group: the annotations on its frame axis, the timeline on its step axis."""
    if "visual" not in timeline.sources:
        raise InputError(f"{media.path} has no picture: the eccv16 features are visual")
    n_frames = video.n_frames
    fps = media.fps or video.fps or n_frames / media.duration
    picks = step_picks(n_frames, fps, timeline.grid.step)[: timeline.n_steps]
    n_steps = len(picks)
    features = timeline.sources["visual"][:n_steps]
    change_points = shots_from_steps(kts_segments(features), picks, n_frames)
    summary = video.user_summary
    if summary is None:
        summary = np.stack([keyshot_summary(s, change_points) for s in video.user_scores])
    gt = video.user_scores.mean(axis=0)[picks]
    span = gt.max() - gt.min()
    g["features"] = features.astype(np.float32)
    g["picks"] = picks.astype(np.int64)
    g["gtscore"] = ((gt - gt.min()) / span if span > 0 else np.zeros_like(gt)).astype(np.float32)
    g["user_summary"] = summary.astype(np.float32)
    g["user_scores"] = video.user_scores.astype(np.float32)
    g["change_points"] = change_points
    g["n_frame_per_seg"] = change_points[:, 1] - change_points[:, 0] + 1
    g["n_frames"] = n_frames
    g["n_steps"] = n_steps
    g["fps"] = fps
    g["video_name"] = video.name
    g.attrs.update(step=timeline.grid.step, source_file=str(media.path))
    for name, matrix in timeline.sources.items():
        g.create_dataset(f"sources/{name}", data=matrix[:n_steps], compression="gzip")
    for name, values in timeline.signals.items():
        g[f"signals/{name}"] = values[:n_steps]
