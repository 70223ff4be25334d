"""Cancelling a running summary, following its progress and handing its memory back, without
Gradio.

The library's work runs in a thread, which cannot be killed; it reports progress only through
the tqdm bars of `egvs.progress` (made from `tqdm.auto.tqdm`). So every bar made while a job is
watched reports to that job, and once the job is cancelled (Cancel pressed, tab closed) its next
progress step raises `JobCancelled`: the work stops within one step (a fraction of a second of
video) and frees the worker for the next job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import tqdm.auto

# (description, done, total) of the job's current stage.
Report = Callable[[str, float, float | None], None]


class JobCancelled(BaseException):
    """The job was cancelled; raised from its next progress step.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` in the library's
    clean-up paths can swallow it and let the job run on.
    """


class Job:
    """One running summary: its cancel flag and where its progress goes."""

    def __init__(self, report: Report | None = None) -> None:
        self.cancelled = threading.Event()
        self.report = report

    def cancel(self) -> None:
        self.cancelled.set()

    def step(self, desc: str, done: float, total: float | None) -> None:
        """A progress step: raise if cancelled, else report it."""
        if self.cancelled.is_set():
            raise JobCancelled
        if self.report is not None:
            self.report(desc, done, total)


_current: ContextVar[Job | None] = ContextVar("egvs_app_job", default=None)


class _JobBar(tqdm.auto.tqdm):
    """egvs's progress bar, tied to the job that made it (updates may come from other threads)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._job = _current.get()
        super().__init__(*args, **kwargs)

    def update(self, n: float | None = 1) -> bool | None:
        shown = super().update(n)
        if self._job is not None:
            # A disabled bar (quiet mode) has no ``desc`` and does not count: the job still gets
            # the step, so that Cancel works.
            self._job.step(getattr(self, "desc", "") or "", float(self.n), self.total)
        return shown


@contextmanager
def watching(job: Job) -> Iterator[Job]:
    """Run the body as ``job``: its progress bars report to it and stop when it is cancelled."""
    tqdm.auto.tqdm = _JobBar  # what egvs.progress.progress() makes its bars from
    token = _current.set(job)
    try:
        yield job
    finally:
        _current.reset(token)


class Sessions:
    """The running job of each browser tab (Gradio's session hash), so that Cancel and a closed
    tab can stop it."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    @contextmanager
    def run(self, session: str, job: Job) -> Iterator[Job]:
        with self._lock:
            self._jobs[session] = job
        try:
            with watching(job):
                yield job
        finally:
            with self._lock:
                if self._jobs.get(session) is job:
                    del self._jobs[session]

    def cancel(self, session: str) -> bool:
        """Cancel the session's running job; False when it has none."""
        with self._lock:
            job = self._jobs.get(session)
        if job is not None:
            job.cancel()
        return job is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)


def release_memory() -> None:
    """Give the memory of a finished job back to the system.

    A job's arrays are freed when it ends, but glibc keeps the freed pages in its arenas (one per
    thread; Gradio runs each job on whichever worker thread is idle), so the idle server grew
    with every new input (1.77 GiB after 30 jobs). ``malloc_trim`` returns the free pages of
    every arena to the system. A no-op off glibc.
    """
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()
