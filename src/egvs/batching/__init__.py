"""Many videos at once: `batch` runs one single-video task (a `MODES` entry) per input on a local
process pool or a Ray cluster, skips videos already done, isolates failures, and appends a line
per video to ``OUTDIR/batch.jsonl``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egvs.batching.tasks import (
    MODES,
    Mode,
    Result,
    Task,
    find_inputs,
    name_tasks,
    read_manifest,
    remove_partial,
)
from egvs.errors import EgvsError, InputError, OutputError

if TYPE_CHECKING:
    from egvs.request import SummaryRequest
    from egvs.shortform.options import ShortsOptions

ENGINES = ("local", "ray")
REPORT_NAME = "batch.jsonl"

__all__ = ["ENGINES", "MODES", "BatchReport", "Mode", "Result", "batch"]


@dataclass
class BatchReport:
    """The outcome of one `batch` call (the same records as its lines in ``batch.jsonl``)."""

    results: list[Result]
    wall_seconds: float
    report: Path

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when every video is done, else the most severe failure's exit code (70 internal >
        4 setup > 3 output > 2 input)."""
        return max((r.exit_code or 1 for r in self.results if r.status == "failed"), default=0)

    def table(self) -> str:
        """A few lines for the terminal: videos, media hours and work seconds per status."""
        lines = [f"{'':12}{'videos':>8}{'media h':>10}{'work s':>10}"]
        for status in ("ok", "skipped", "failed", "interrupted"):
            rows = [r for r in self.results if r.status == status]
            if rows or status in ("ok", "failed"):
                media = sum(r.media_seconds or 0.0 for r in rows) / 3600
                work = sum(r.wall_seconds for r in rows)
                lines.append(f"{status:12}{len(rows):8d}{media:10.3f}{work:10.1f}")
        done = self.count("ok")
        rate = done / self.wall_seconds * 3600 if self.wall_seconds > 0 else 0.0
        lines.append(
            f"{len(self.results)} videos in {self.wall_seconds:.1f} s "
            f"({rate:.0f} videos/h); report: {self.report}"
        )
        lines += [
            f"failed: {r.input} (exit {r.exit_code}): {r.error}"
            for r in self.results
            if r.status == "failed"
        ]
        return "\n".join(lines)


def batch(
    inputs: Iterable[str | Path] = (),
    *,
    output_dir: str | Path,
    manifest: str | Path | None = None,
    mode: str = "summarize",
    engine: str = "local",
    workers: int | None = None,
    cpus_per_worker: int = 1,
    address: str | None = None,
    force: bool = False,
    use_cache: bool = True,
    request: SummaryRequest | None = None,
    mode_options: ShortsOptions | Mapping[str, Any] | None = None,
    **options: Any,
) -> BatchReport:
    """Process every video in ``inputs`` (files, or folders searched recursively) and the
    ``path`` column of the CSV ``manifest`` into ``output_dir``, one task per video.

    Every video gets the same `SummaryRequest`: ``request``, or one built from ``options``
    (``ratio``, ``duration``, ``weights``, ``model``; validated once, before any work). A video
    whose outputs exist and were made from the same content with the same mode and request is
    skipped unless ``force``. A failing video is recorded and the others go on; check
    ``BatchReport.exit_code``. ``workers``: local default half this machine's CPUs, Ray default
    all of the cluster's (divided by ``cpus_per_worker``); ``cpus_per_worker`` (default 1) caps
    each worker's compute threads and is its Ray request. The local engine starts processes
    (forkserver), so a script that calls this needs the ``if __name__ == "__main__":`` guard.
    ``mode_options`` go to the mode's own call: for ``shorts`` a `ShortsOptions`, or the
    options to build one, e.g. ``{"count": 3, "length": (20, 40)}`` (checked before any work).
    Shorts use the request's scorer only: a budget (``ratio``, ``duration``) is refused.
    """
    if mode not in MODES:
        raise EgvsError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if engine not in ENGINES:
        raise EgvsError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if workers is not None and workers < 1 or cpus_per_worker < 1:
        raise EgvsError("workers and CPUs per worker must be at least 1")
    from egvs.request import SummaryRequest

    if request is None:
        request = SummaryRequest.from_options(**options)
    elif options:
        raise EgvsError(f"pass either request or {', '.join(options)}, not both")
    settings = _mode_settings(mode, mode_options, request)
    if isinstance(inputs, str | Path):
        inputs = [inputs]
    inputs = list(inputs)
    if not inputs and manifest is None:
        raise EgvsError("give INPUT videos or folders, or --manifest FILE.csv")
    out = Path(output_dir).absolute()  # workers (Ray's above all) may run in another folder
    found = find_inputs(inputs, out)
    if manifest is not None:
        found += [(p, Path(p.stem)) for p in read_manifest(Path(manifest))]
    if not found:
        raise InputError("no videos to process (no files given, or none found in the folders)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    tasks = [
        dataclasses.replace(t, digest=_digest(t.input))
        for t in name_tasks(found, out, mode, request, use_cache, settings)
    ]
    return _run(tasks, out, engine, workers, cpus_per_worker, address, force)


def _mode_settings(
    mode: str, options: ShortsOptions | Mapping[str, Any] | None, request: SummaryRequest
) -> tuple[tuple[str, Any], ...]:
    """The mode's options, resolved and checked before any work, as each task carries them."""
    if mode != "shorts":
        if options:
            names = list(options) if isinstance(options, Mapping) else [type(options).__name__]
            raise EgvsError(f"mode {mode} takes no options ({', '.join(names)})")
        return ()
    from egvs.request import SummaryRequest
    from egvs.shortform.options import ShortsOptions

    if request.budget != SummaryRequest().budget:
        raise EgvsError("mode shorts takes no ratio or duration (shorts are not one summary)")
    if not isinstance(options, ShortsOptions):
        options = ShortsOptions.from_options(**(options or {}))
    # Every field, defaults too: the sidecar then tells apart outputs made with other defaults.
    return tuple(sorted(dataclasses.asdict(options).items()))


def _digest(path: Path) -> str | None:
    from egvs.cache import file_digest

    try:
        return file_digest(path)
    except OSError:
        return None  # its task fails with the single-video path's own message


def _run(
    tasks: list[Task],
    out: Path,
    engine: str,
    workers: int | None,
    cpus: int,
    address: str | None,
    force: bool,
) -> BatchReport:
    from egvs.progress import bars_enabled, progress, say

    start = time.perf_counter()
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}"
    report_path = out / REPORT_NAME
    results: list[Result] = []
    bar = progress(total=len(tasks), desc="batch", unit="video")

    def record(result: Result) -> None:
        results.append(result)
        line = {"run": run_id, "time": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"}
        report.write(json.dumps({**line, **result.to_json()}) + "\n")
        media = sum(r.media_seconds or 0.0 for r in results) / 3600
        bar.set_postfix_str(
            f"{media:.2f} media h, {sum(r.status == 'failed' for r in results)} failed"
        )
        bar.update(1)

    try:  # before any video runs: a read-only folder is the user's to fix, not a crash
        report = open(report_path, "a", buffering=1)  # noqa: SIM115 (the with below closes it)
    except OSError as exc:
        raise OutputError(
            f"cannot write the batch report {report_path}: {exc.strerror or exc}"
        ) from None
    with report:
        todo = []
        for task in tasks:
            done = None if force else _done(task, "skipped")
            if done is None:
                todo.append(task)
            else:
                record(done)
        jobs = _engine(todo, engine, workers, cpus, address)
        try:
            for result in jobs:
                record(result)
        except KeyboardInterrupt:
            jobs.close()  # the workers are stopped and gone: now their half-written files can go
            finished = {r.input for r in results}
            stopped = [t for t in todo if t.input not in finished]
            remove_partial(stopped)
            for task in stopped:  # a video may have completed while its worker was stopped
                record(_done(task, "ok") or Result(task.input, "interrupted"))
            bar.close()
            if bars_enabled():  # -q: errors only
                say(BatchReport(results, time.perf_counter() - start, report_path).table())
            raise
        finally:
            jobs.close()
            bar.close()
    return BatchReport(results, time.perf_counter() - start, report_path)


def _done(task: Task, status: str) -> Result | None:
    """A result with ``status`` when the task's outputs are complete and current, else None."""
    stored = task.finished()
    if stored is None:
        return None
    return Result(task.input, status, task.outputs, stored.get("media_seconds"))


def _engine(
    tasks: list[Task], engine: str, workers: int | None, cpus: int, address: str | None
) -> Generator[Result, None, None]:
    """The engine's results as they come; nothing starts (no pool, no Ray) without tasks."""
    if not tasks:
        return
    from egvs.batching.engines import cpu_count, local_results, ray_results

    if engine == "ray":
        yield from ray_results(tasks, workers, cpus, address)
    else:
        # Each video's pipeline keeps about two cores busy (decoding beside the models).
        workers = workers or max(1, cpu_count() // (2 * cpus))
        yield from local_results(tasks, workers, cpus)
