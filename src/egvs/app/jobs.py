"""The web app's work, kept free of Gradio so it is testable alone: its private working folders,
the upload checks, and one summarize job over the public API (`egvs.summarize`)."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from egvs.app.text import DEFAULT_LANGUAGE, PLOT_LABELS, reason
from egvs.atomic import atomic_write, write_text
from egvs.errors import InputError
from egvs.export.plot import plot_timeline
from egvs.export.timeline import FORMATS
from egvs.request import SummaryRequest
from egvs.segments import Segment
from egvs.shortform.options import DEFAULTS, ShortsOptions

DEFAULT_MAX_UPLOAD = 2 * 1024**3
JOB_TTL = 600.0  # seconds a finished job folder is kept; Gradio has copied its files by then
_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def parse_size(text: str | int) -> int:
    """Bytes from ``"2GB"``, ``"500 MB"``, ``"1.5G"`` or a plain number of bytes."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(I?B)?\s*", text.upper())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"bad size {text!r}: use e.g. 2GB, 500MB or a number of bytes")
    unit = match.group(2) + ("B" if match.group(2) else "")
    return int(float(match.group(1)) * _UNITS[unit])


def human_size(n: int) -> str:
    for unit in ("TB", "GB", "MB", "KB"):
        if n >= _UNITS[unit]:
            return f"{n / _UNITS[unit]:.3g} {unit}"
    return f"{n} bytes"


@dataclass
class Workspace:
    """Every file the app reads or writes lives under ``root``: Gradio's uploads and result copies
    (``gradio/``), the job outputs (``jobs/``) and the generated example (``examples/``).

    Inputs from anywhere else are refused, so a crafted request cannot make the app read a file
    of the machine; ``cleanup`` removes it all when the server stops.
    """

    root: Path
    owned: bool = True  # made by us: removed entirely by cleanup
    _example_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create(cls, parent: str | Path | None = None) -> Workspace:
        root = Path(tempfile.mkdtemp(prefix="egvs-demo-", dir=parent)).resolve()
        for sub in ("gradio", "jobs", "examples"):
            (root / sub).mkdir()
        return cls(root)

    @property
    def uploads(self) -> Path:
        return self.root / "gradio"

    def check_input(self, path: str | Path | None, max_bytes: int) -> Path:
        """The uploaded file, if it is one of ours and within the size limit (InputError if not)."""
        if not path:
            raise InputError("no video: upload one or pick the generated example")
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.root):
            raise InputError("only files uploaded to this app can be summarized")
        if not resolved.is_file():
            raise InputError(
                "the uploaded file is gone (it expires after an hour); upload it again"
            )
        size = resolved.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"the file is too large ({human_size(size)}); the limit is {human_size(max_bytes)}"
            )
        return resolved

    def new_job(self) -> Path:
        """A fresh output folder; folders of jobs finished long ago are removed on the way."""
        now = time.time()
        for old in (self.root / "jobs").iterdir():
            if now - old.stat().st_mtime > JOB_TTL:
                shutil.rmtree(old, ignore_errors=True)
        job = self.root / "jobs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        job.mkdir()
        return job

    def example(self, duration: float = 60.0) -> Path:
        """The generated example video (a calm talk with lively bursts), made once."""
        from egvs.example import write_example

        path = self.root / "examples" / "egvs-example.mp4"
        with self._example_lock:
            if not path.exists():
                write_example(path, duration)
        return path

    def cleanup(self) -> None:
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class JobResult:
    video: Path
    plot: Path
    analysis_json: Path
    timeline: Path
    segments: list[Segment]
    input_duration: float
    summary_duration: float
    seconds: float
    warnings: list[str]

    @property
    def downloads(self) -> list[str]:
        return [str(self.video), str(self.analysis_json), str(self.timeline)]


def clock(t: float) -> str:
    """``m:ss.s`` (or ``h:mm:ss.s``): how editors and players show a position."""
    minutes, seconds = divmod(max(t, 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{seconds:04.1f}" if hours else f"{minutes}:{seconds:04.1f}"


def segment_rows(segments: list[Segment], language: str = DEFAULT_LANGUAGE) -> list[list]:
    """The table of chosen segments: number, start, end, length, score, reasons (in
    ``language``)."""
    return [
        [
            i,
            clock(s.start),
            clock(s.end),
            round(s.duration, 1),
            round(s.score, 2),
            ", ".join(reason(language, r) for r in s.reasons),
        ]
        for i, s in enumerate(segments, start=1)
    ]


def relink_timeline(timeline: Path, source: Path) -> None:
    """Point the editor timeline at the upload's original name, relative to the timeline.

    The server's copy of the upload is temporary (gone within the hour); the user has the file
    under its own name, so the timeline finds it when saved beside it, and editors relink by name.
    """
    text = timeline.read_text(encoding="utf-8")
    text = text.replace(source.as_uri(), quote(source.name))
    write_text(timeline, text)


# What Windows, macOS or Linux forbid in a file name: the path separators, Windows' reserved
# characters and control characters. Everything else (any script, spaces, accents) is kept.
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_RESERVED = re.compile(r"(?i)(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")
_STEM_BYTES = 150  # of UTF-8: room for "-summary.fcpxml" within the usual 255-byte limit


def record_upload_name(document: Path, source: Path) -> None:
    """Put the upload's own name where a JSON document (analysis, shorts.json) records its input.

    The server's path of the upload (``/tmp/egvs-demo-…/gradio/<hash>/file.mp4``) says nothing
    to the user and tells anyone they share the file with how the server is laid out.
    """
    doc = json.loads(document.read_text(encoding="utf-8"))
    doc["input"]["path"] = source.name
    write_text(document, json.dumps(doc, indent=1, ensure_ascii=False))


def _stem(path: Path) -> str:
    """The uploaded name's stem, fit to be a file name anywhere (it becomes the download names):
    ``한국어 영상.mp4`` stays ``한국어 영상``; only what a file system forbids is replaced."""
    stem = _FORBIDDEN.sub("-", unicodedata.normalize("NFC", path.stem)).strip(" .-")
    while len(stem.encode("utf-8")) > _STEM_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(" .")
    return stem if stem and not _RESERVED.fullmatch(stem) else "video"


def run_job(
    workspace: Workspace,
    path: str | Path | None,
    *,
    max_bytes: int = DEFAULT_MAX_UPLOAD,
    ratio: float | None = None,
    duration: float | None = None,
    weights: dict[str, float] | None = None,
    timeline_ext: str = ".otio",
    language: str = DEFAULT_LANGUAGE,
) -> JobResult:
    """Summarize one upload with the public API into a new job folder; the plot's words are in
    ``language``.

    The API's feature cache makes a rerun of the same upload with another budget or other weights
    skip decoding and feature extraction.
    """
    import egvs

    source = workspace.check_input(path, max_bytes)
    if timeline_ext not in FORMATS:
        raise InputError(f"unknown timeline format {timeline_ext}: use one of {', '.join(FORMATS)}")
    request = SummaryRequest.from_options(ratio=ratio, duration=duration, weights=weights)
    job = workspace.new_job()
    stem = _stem(source)
    started = time.perf_counter()
    summary = egvs.summarize(
        source,
        job / f"{stem}-summary.mp4",
        request=request,
        json_path=job / f"{stem}-analysis.json",
        timeline_path=job / f"{stem}-summary{timeline_ext}",
    )
    plot_timeline(summary.analysis, job / f"{stem}-timeline.png", PLOT_LABELS.get(language))
    relink_timeline(job / f"{stem}-summary{timeline_ext}", source)
    record_upload_name(job / f"{stem}-analysis.json", source)
    analysis = summary.analysis
    return JobResult(
        video=summary.output,
        plot=job / f"{stem}-timeline.png",
        analysis_json=job / f"{stem}-analysis.json",
        timeline=job / f"{stem}-summary{timeline_ext}",
        segments=list(analysis.segments),
        input_duration=float(analysis.media.duration),
        summary_duration=float(summary.duration),
        seconds=time.perf_counter() - started,
        warnings=list(analysis.warnings),
    )


@dataclass
class ShortsJobResult:
    """What one Shorts click made: the clips (best first) and a zip of them all."""

    clips: list[dict]  # shorts.json entries, with "path" of the clip's video added
    bundle: Path
    seconds: float
    warnings: list[str] = field(default_factory=list)
    input_duration: float = 0.0
    min_length: float = 0.0  # the shortest clip asked for

    @property
    def downloads(self) -> list[str]:
        return [str(self.bundle), *(c["path"] for c in self.clips)]

    @property
    def shorter_than_asked(self) -> list[dict]:
        """Clips shorter than the length asked for: the video itself is shorter, and a clip of
        all of it is what could be made."""
        return [c for c in self.clips if c["duration"] < self.min_length - 0.05]


def run_shorts_job(
    workspace: Workspace,
    path: str | Path | None,
    *,
    max_bytes: int = DEFAULT_MAX_UPLOAD,
    options: ShortsOptions = DEFAULTS,
) -> ShortsJobResult:
    """Cut shorts from one upload with the public API (`egvs.shorts`) into a new job folder,
    and zip them (clips, captions, manifest) for one download."""
    import zipfile

    import egvs

    source = workspace.check_input(path, max_bytes)
    job = workspace.new_job()
    folder = job / f"{_stem(source)}-shorts"
    started = time.perf_counter()
    made = egvs.shorts(source, folder, options=options)
    record_upload_name(made.manifest, source)

    def write_zip(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as bundle:
            for file in sorted(folder.iterdir()):
                bundle.write(file, f"{folder.name}/{file.name}")

    atomic_write(folder.with_suffix(".zip"), write_zip)
    manifest = json.loads(made.manifest.read_text(encoding="utf-8"))
    clips = [{**c, "path": str(folder / c["files"]["video"])} for c in manifest["clips"]]
    return ShortsJobResult(
        clips,
        folder.with_suffix(".zip"),
        time.perf_counter() - started,
        made.warnings,
        input_duration=float(manifest["input"]["duration"]),
        min_length=float(manifest["options"]["length"][0]),
    )


def shorts_rows(clips: list[dict], language: str = DEFAULT_LANGUAGE) -> list[list]:
    """One row per clip for the page's table: rank, start, end, score, reasons (in
    ``language``), transcript."""
    return [
        [c["rank"], clock(c["start"]), clock(c["end"]), round(c["score"], 2),
         ", ".join(reason(language, r) for r in c["reasons"]), c["transcript"]]
        for c in clips
    ]  # fmt: skip
