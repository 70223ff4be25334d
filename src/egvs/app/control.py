"""Cancelling a running job, following its progress and handing its memory back, without
Gradio.

The library's work runs in a thread, which cannot be killed. It reports progress through the tqdm
bars of `egvs.progress` (made from `tqdm.auto.tqdm`), so every bar made while a job is watched
reports to that job, and once the job is cancelled (Cancel pressed, tab closed) its next progress
step raises `JobCancelled`. Some stages step rarely or never (a short's whole clip renders between
two steps; face tracking has no bar), so a job still running `GRACE` seconds after its cancel gets
`JobCancelled` raised in its thread by the interpreter (``PyThreadState_SetAsyncExc``) at the next
line of Python it runs: a frame of video at most, unless it is inside one long native call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
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


RELEASE_AFTER = 120.0  # seconds without a job before the models kept between jobs are dropped
GRACE = 0.5  # seconds a cancelled job has to stop at a progress step before it is interrupted


class Job:
    """One running job: its cancel flag, where its progress goes, and the thread doing its work."""

    def __init__(
        self, report: Report | None = None, finished: Callable[[str], None] | None = None
    ) -> None:
        self.cancelled = threading.Event()
        self.report = report
        self._on_finished = finished
        self._lock = threading.Lock()
        self._thread: int | None = None  # ident of the thread inside the job, while it is
        self._interrupt: threading.Timer | None = None

    def cancel(self) -> None:
        """Stop the job: at its next progress step, else by an interruption after `GRACE`."""
        with self._lock:
            if self.cancelled.is_set():
                return
            self.cancelled.set()
            if self._thread is not None:
                self._interrupt = threading.Timer(GRACE, self._raise_in_thread)
                self._interrupt.daemon = True
                self._interrupt.start()

    def step(self, desc: str, done: float, total: float | None) -> None:
        """A progress step: raise if cancelled, else report it."""
        if self.cancelled.is_set():
            if threading.get_ident() == self._thread:
                self._drop_interrupt()  # the work is stopping here: no second exception
            raise JobCancelled
        if self.report is not None:
            self.report(desc, done, total)

    def finished(self, desc: str) -> None:
        """A stage's bar closed (a progress line can name what comes next)."""
        if self._on_finished is not None and not self.cancelled.is_set():
            self._on_finished(desc)

    def enter(self) -> None:
        """The calling thread starts the job's work: the thread `cancel` interrupts."""
        with self._lock:
            if self.cancelled.is_set():
                raise JobCancelled
            self._thread = threading.get_ident()

    def leave(self) -> None:
        """The work is over: an interruption still pending is taken back, and none comes after,
        so `JobCancelled` cannot reach the code that called the job (a Gradio worker thread)."""
        self._drop_interrupt()
        with self._lock:
            self._thread = None

    def _drop_interrupt(self) -> None:
        with self._lock:
            if self._interrupt is not None:
                self._interrupt.cancel()
            if self._thread is not None:
                _set_async_exc(self._thread, None)

    def _raise_in_thread(self) -> None:
        with self._lock:
            if self._thread is not None:
                _set_async_exc(self._thread, JobCancelled)


def _set_async_exc(thread: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in ``thread`` at its next line of Python (None: take a pending one back)."""
    pending = ctypes.py_object(exc) if exc is not None else None  # None is passed as NULL
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), pending)


_current: ContextVar[Job | None] = ContextVar("egvs_app_job", default=None)


class _JobBar(tqdm.auto.tqdm):
    """egvs's progress bar, tied to the job that made it (updates may come from other threads)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._job = _current.get()
        self._stage = str(kwargs.get("desc") or "")  # a disabled bar keeps no ``desc``
        self._finished = False
        super().__init__(*args, **kwargs)

    def update(self, n: float | None = 1) -> bool | None:
        shown = super().update(n)
        if self.disable:
            # A disabled bar (quiet mode) does not count; counting here keeps ``n`` true for the
            # library (it updates by ``t - bar.n``) and for the page's progress line.
            self.n += n or 0
        if self._job is not None:
            self._job.step(self._stage, float(self.n), self.total)
        return shown

    def close(self) -> None:
        super().close()
        if self._job is not None and not self._finished:
            self._finished = True
            self._job.finished(self._stage)


class Stages:
    """The page's one progress line for a job: which stage it is in, in words, and how much of
    the whole job is done, made from the library's bars (analysing, transcribing, rendering) and
    from what follows each bar (finding faces has no bar; nor has writing the plot).

    Without ``clips`` a summary: analysing, then rendering. With ``clips`` (how many shorts were
    asked for) the analysis, then for each clip transcribing (with ``captions``), framing and
    rendering. ``words(key, **values)`` gives the page's words for a stage.
    """

    ANALYSIS_SHARE = {False: 0.85, True: 0.4}  # of the whole job: summary, shorts

    def __init__(
        self,
        show: Callable[[float, str], None],
        words: Callable[..., str],
        clips: int = 0,
        captions: bool = False,
    ) -> None:
        self.show, self.words, self.clips, self.captions = show, words, clips, captions
        self.analysis = self.ANALYSIS_SHARE[clips > 0]
        self.rendered = 0  # shorts rendered so far

    def step(self, stage: str, done: float, total: float | None) -> None:
        part = min(1.0, done / total) if total else 0.0
        if stage == "analysing":
            self.show(self.analysis * part, self.words("stage_analysing"))
        elif not self.clips:
            if stage == "rendering":
                self.show(
                    self.analysis + (0.98 - self.analysis) * part, self.words("stage_rendering")
                )
        elif stage == "transcribing":
            self._clip(0.4 * part, "stage_transcribing")
        elif stage == "rendering":
            self._clip(0.5 + 0.45 * part, "stage_rendering_clip")

    def finished(self, stage: str) -> None:
        """A bar closed: name what comes next."""
        if not self.clips:
            if stage == "analysing":
                self.show(self.analysis, self.words("stage_rendering"))
            elif stage == "rendering":
                self.show(0.98, self.words("stage_finishing"))
            return
        if stage == "transcribing":
            self._clip(0.4, "stage_framing")
        elif stage == "rendering":
            self.rendered += 1
        if stage in ("analysing", "rendering"):
            if self.rendered < self.clips:
                self._clip(0.0, "stage_transcribing" if self.captions else "stage_framing")
            else:
                self.show(0.99, self.words("stage_packing"))

    def _clip(self, part: float, key: str) -> None:
        """``part`` of the current clip done, in stage ``key``."""
        k = min(self.rendered + 1, self.clips)
        share = (1.0 - self.analysis) / self.clips
        self.show(self.analysis + share * (k - 1 + part), self.words(key, k=k, n=self.clips))


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
    """The running job of each browser tab (Gradio's session hash) and page tab (summary,
    shorts), so that Cancel and a closed tab can stop it; and the server's job slots.

    Gradio frees its concurrency slot as soon as a job is cancelled, while the job's thread may
    need a moment more to stop; the slots here are held by that thread until it has, so the next
    job in the queue never runs beside a cancelled one.
    """

    def __init__(self, slots: int = 1, release_after: float | None = RELEASE_AFTER) -> None:
        self._jobs: dict[tuple[str, str], Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(slots)
        self._release_after = release_after
        self._idle: threading.Timer | None = None

    @contextmanager
    def run(self, session: str, job: Job, tab: str = "") -> Iterator[Job]:
        """Run the body as ``job`` of ``session``'s ``tab``, once a slot is free."""
        with self._lock:
            self._jobs[session, tab] = job
        try:
            while not self._slots.acquire(timeout=0.1):
                if job.cancelled.is_set():  # cancelled while waiting for the slot
                    raise JobCancelled
            try:
                job.enter()
                with watching(job):
                    yield job
            finally:
                # The job's one interruption may arrive up to the end of `leave`: each clean-up
                # step sits in the `finally` of the one before, so none is skipped.
                try:
                    job.leave()
                finally:
                    self._slots.release()
        finally:
            with self._lock:
                if self._jobs.get((session, tab)) is job:
                    del self._jobs[session, tab]
                self._restart_idle_timer()

    def _restart_idle_timer(self) -> None:
        """After each job: the models go `release_after` seconds later, unless a job runs then."""
        if self._idle is not None:
            self._idle.cancel()
        if self._release_after is not None:
            self._idle = threading.Timer(self._release_after, self._release_if_idle)
            self._idle.daemon = True
            self._idle.start()

    def _release_if_idle(self) -> None:
        with self._lock:
            if self._jobs:
                return
            release_models()
        release_memory()

    def cancel(self, session: str, tab: str | None = None) -> bool:
        """Cancel the session's running job in ``tab`` (None: in every tab); False when none."""
        with self._lock:
            jobs = [j for (s, t), j in self._jobs.items() if s == session and tab in (None, t)]
        for job in jobs:
            job.cancel()
        return bool(jobs)

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)


def release_models() -> None:
    """Drop the models kept loaded between jobs: Whisper (faster-whisper, about 140 MiB), the one
    the library keeps for the process. The next job with captions loads it again (about a
    second)."""
    transcribe = sys.modules.get("egvs.captions.transcribe")  # not imported: nothing loaded
    if transcribe is not None:
        transcribe.load_model.cache_clear()


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
