"""One batch task per video: the mode table, output names, the resume sidecar and the worker side.

Everything here runs the existing single-video path (`egvs.summarize` / `egvs.analyze`); the
engines (`egvs.batching.engines`) only decide where `run_task` runs. This module imports nothing
heavy at the top, so a fresh worker process can cap its thread pools before numpy loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from egvs.request import SummaryRequest

SIDECAR_SCHEMA = "egvs.batch/1"
SIDECAR_SUFFIX = ".batch.json"
INTERNAL_ERROR = 70  # the CLI's exit code for anything that is not an EgvsError
MEDIA_SUFFIXES = frozenset(
    [
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".avi",
        ".flv",
        ".wmv",
        ".mpg",
        ".mpeg",
        ".ts",
        ".mts",
        ".m2ts",
        ".3gp",
        ".ogv",
        ".m4a",
        ".mp3",
        ".wav",
        ".flac",
        ".ogg",
        ".opus",
        ".aac",
    ]
)


@dataclass(frozen=True)
class Mode:
    """A kind of per-video work: the files it writes (name -> suffix) and the call that writes
    them. ``run(input, outputs, **options)`` gets the single-video API's keyword options
    (``request``, ``use_cache``, ``emotion_model``) and returns the input's duration in seconds.
    A new mode (e.g. ``shorts``) is one more entry in `MODES`."""

    name: str
    suffixes: Mapping[str, str]
    run: Callable[..., float]


def _summarize(path: Path, outputs: dict[str, Path], **options: Any) -> float:
    from egvs.api import summarize

    summary = summarize(
        path, outputs["video"], json_path=outputs["json"], overwrite=True, **options
    )
    return summary.analysis.media.duration


def _analyze(path: Path, outputs: dict[str, Path], **options: Any) -> float:
    from egvs.api import analyze, write_outputs

    analysis = analyze(path, **options)
    write_outputs(analysis, outputs["json"], None)
    return analysis.media.duration


def _shorts(path: Path, outputs: dict[str, Path], **options: Any) -> float:
    """Clips in ``<stem>-shorts/``; the manifest beside it is the output a rerun checks."""
    from egvs.shortform import shorts

    manifest = outputs["manifest"]
    folder = manifest.with_name(manifest.name.removesuffix(SHORTS_MANIFEST) + "-shorts")
    made = shorts(path, folder, json_path=manifest, overwrite=True, **options)
    return made.media.duration


SHORTS_MANIFEST = ".shorts.json"
MODES: dict[str, Mode] = {
    "summarize": Mode("summarize", {"video": ".mp4", "json": ".json"}, _summarize),
    "analyze": Mode("analyze", {"json": ".json"}, _analyze),
    "shorts": Mode("shorts", {"manifest": SHORTS_MANIFEST}, _shorts),
}


@dataclass(frozen=True)
class Task:
    """One video to process; picklable, so it travels to a worker process or a Ray actor."""

    input: Path
    base: Path  # output path without suffix: OUTDIR/<relative folder>/<stem>
    mode: str
    request: SummaryRequest
    use_cache: bool
    digest: str | None  # content hash; None when the driver could not read the file
    mode_options: tuple[tuple[str, Any], ...] = ()  # e.g. every field of shorts' ShortsOptions

    @property
    def outputs(self) -> dict[str, Path]:
        return {
            name: self.base.with_name(self.base.name + suffix)
            for name, suffix in MODES[self.mode].suffixes.items()
        }

    @property
    def sidecar(self) -> Path:
        return self.base.with_name(self.base.name + SIDECAR_SUFFIX)

    def fingerprint(self) -> dict[str, Any]:
        """What the outputs depend on (not ``use_cache``: the cache never changes a result): a
        rerun skips the video when this and its sidecar agree."""
        return {
            "schema": SIDECAR_SCHEMA,
            "sha256": self.digest,
            "mode": self.mode,
            "request": json.loads(json.dumps(self.request.to_json())),
            "mode_options": json.loads(json.dumps(dict(self.mode_options))),
        }

    def finished(self) -> dict[str, Any] | None:
        """The sidecar when every output is present and was made from this very content with
        these options (the video can be skipped), else None."""
        if self.digest is None or not all(p.is_file() for p in self.outputs.values()):
            return None
        try:
            stored = json.loads(self.sidecar.read_text())
        except (OSError, ValueError):
            return None
        fingerprint = self.fingerprint()
        return stored if {k: stored.get(k) for k in fingerprint} == fingerprint else None


@dataclass
class Result:
    """What became of one video; one line of ``batch.jsonl``."""

    input: Path
    status: str  # ok | failed | skipped | interrupted
    outputs: dict[str, Path] = field(default_factory=dict)
    media_seconds: float | None = None
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    error: str | None = None
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "input": str(self.input),
            "status": self.status,
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "media_seconds": None if self.media_seconds is None else round(self.media_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "error": self.error,
            "exit_code": self.exit_code,
        }


def failed(task: Task, exc: BaseException, wall: float = 0.0) -> Result:
    """A failure as one line and the exit code the single-video CLI would have given it."""
    from egvs.errors import EgvsError

    if isinstance(exc, EgvsError):
        error, code = str(exc), exc.exit_code
    else:
        error, code = f"internal error: {type(exc).__name__}: {exc}", INTERNAL_ERROR
    error = error.splitlines()[0] if error else type(exc).__name__
    return Result(task.input, "failed", wall_seconds=wall, error=error, exit_code=code)


# ---- discovery and output names (driver side) ----


def find_inputs(inputs: Iterable[str | Path], output_dir: Path) -> list[tuple[Path, Path]]:
    """(video, name under OUTDIR without suffix) for every file given or found in a folder.

    A folder's videos keep their folder structure below it (sorted, hidden files and OUTDIR
    skipped); a file given by name goes to the top of OUTDIR. A file that does not exist stays
    in the list, so its task reports why.
    """
    out_root = output_dir.resolve()
    found: list[tuple[Path, Path]] = []
    for item in (Path(i).absolute() for i in inputs):
        if not item.is_dir():
            found.append((item, Path(item.stem)))
            continue
        for path in sorted(item.rglob("*")):
            rel = path.relative_to(item)
            if (
                path.is_file()
                and path.suffix.lower() in MEDIA_SUFFIXES
                and not any(part.startswith(".") for part in rel.parts)
                and not path.resolve().is_relative_to(out_root)
            ):
                found.append((path, rel.with_suffix("")))
    return found


def read_manifest(path: Path) -> list[Path]:
    """The ``path`` column of a CSV manifest; relative paths are relative to the manifest. A
    UTF-8 byte-order mark (what Excel writes) is skipped."""
    import csv

    from egvs.errors import EgvsError, InputError

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise InputError(f"cannot read the manifest {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"manifest {path} is not UTF-8 text") from None
    if not rows or "path" not in rows[0]:
        raise EgvsError(f"manifest {path} needs a header row with a 'path' column")
    return [(path.parent / row["path"]).absolute() for row in rows if row["path"]]


def name_tasks(
    found: list[tuple[Path, Path]],
    output_dir: Path,
    mode: str,
    request: SummaryRequest,
    use_cache: bool,
    mode_options: tuple[tuple[str, Any], ...] = (),
) -> list[Task]:
    """Tasks whose files never collide: when two inputs would write the same file (two
    ``intro.mp4`` given by name, ``a.mp4`` beside ``a.webm``), each gets a short hash of its
    input path appended to its name. Also drops an input given twice."""
    unique = list({p.resolve(): (p, rel) for p, rel in found}.values())

    def files(rel: Path) -> list[str]:
        task = Task(Path(), output_dir / rel, mode, request, use_cache, None, mode_options)
        return [str(p).casefold() for p in [*task.outputs.values(), task.sidecar]]

    owners = Counter(name for _, rel in unique for name in files(rel))
    tasks = []
    for path, rel in unique:
        if any(owners[name] > 1 for name in files(rel)):
            tag = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
            rel = rel.with_name(f"{rel.name}-{tag}")
        tasks.append(Task(path, output_dir / rel, mode, request, use_cache, None, mode_options))
    return tasks


def remove_partial(tasks: Iterable[Task]) -> None:
    """Delete the temporary files of tasks whose worker was killed mid-write (a Ray actor, or a
    process that did not unwind in time); called once those workers are gone."""
    from egvs.atomic import remove_stale_temps

    for task in tasks:
        for path in [*task.outputs.values(), task.sidecar]:
            remove_stale_temps(path)


# ---- worker side ----

_worker: dict[str, Any] = {}


class _Stopped(KeyboardInterrupt):
    """The batch was stopped: unwind the running video so its temporary files are removed."""


def _on_sigterm(_signum: int, _frame: object) -> None:
    if _worker.get("busy"):
        raise _Stopped
    os._exit(143)  # idle: nothing to clean up


def init_worker(threads: int, handle_signals: bool = True) -> None:
    """Prepare a worker process once: cap its thread pools at its share of the CPUs and load the
    speech-emotion model, which then serves every video the worker runs.

    ``handle_signals``: Ctrl-C is for the driver (it stops the workers itself); SIGTERM unwinds
    the running video. Ray actors keep Ray's own signal handling.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if handle_signals:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _on_sigterm)
    import cv2
    from threadpoolctl import threadpool_limits
    from tqdm import tqdm

    # tqdm's default lock is a named semaphore (multiprocessing), unlinked by a finalizer that
    # the os._exit of a stopped worker skips: Python then warns of a "leaked semaphore" at the
    # batch's end. A worker draws no bars, so a lock of its own threads is enough.
    tqdm.set_lock(threading.RLock())

    from egvs.api import default_emotion_model
    from egvs.progress import set_verbosity

    cv2.setNumThreads(threads)
    set_verbosity(-1)  # no per-video bars or warnings; warnings are in each analysis JSON
    _worker["limits"] = threadpool_limits(limits=threads)
    _worker["emotion_model"] = default_emotion_model()


def run_task(task: Task) -> Result:
    """Process one video in this worker; every failure becomes a `Result`, never an exception
    (except a stop request, which must reach the engine)."""
    start, cpu = time.perf_counter(), time.process_time()
    _worker["busy"] = True
    try:
        task.base.parent.mkdir(parents=True, exist_ok=True)
        task.sidecar.unlink(missing_ok=True)  # outputs about to change: not done until rewritten
        media = MODES[task.mode].run(
            task.input,
            task.outputs,
            request=task.request,
            use_cache=task.use_cache,
            emotion_model=_worker.get("emotion_model"),
            **dict(task.mode_options),
        )
        write_sidecar(task, media)
    except _Stopped:  # SIGTERM: the video has unwound (no temporary files); now the worker goes
        os._exit(143)
    except Exception as exc:
        result = failed(task, exc, time.perf_counter() - start)
    else:
        result = Result(task.input, "ok", task.outputs, media, time.perf_counter() - start)
    finally:
        _worker["busy"] = False
    result.cpu_seconds = time.process_time() - cpu
    return result


def write_sidecar(task: Task, media_seconds: float) -> None:
    """Written last, atomically: its presence means every output of the video is complete."""
    from egvs.atomic import atomic_write

    record = {
        **task.fingerprint(),
        "input": str(task.input),
        "outputs": {k: p.name for k, p in task.outputs.items()},
        "media_seconds": round(media_seconds, 3),
    }
    text = json.dumps(record, indent=1)
    atomic_write(task.sidecar, lambda tmp: tmp.write_text(text))


class VideoWorker:
    """A worker that owns its models, for engines that hold state in objects (Ray actors)."""

    def __init__(self, threads: int) -> None:
        init_worker(threads, handle_signals=False)

    def run(self, task: Task) -> Result:
        return run_task(task)
