"""Flat memory and the stage workers of `egvs.pipeline` (no media needed)."""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest

from egvs.features.video import NOVELTY_CHUNK, novelty
from egvs.pipeline import StageClock, _Spool, _Worker, compact, keep_large_buffers
from egvs.timeline import TimeGrid, Timeline, UnknownSignalError


def test_compact_halves_only_wide_float_matrices() -> None:
    assert compact(np.zeros((10, 1280), np.float32)).dtype == np.float16
    assert compact(np.zeros((10, 6), np.float32)).dtype == np.float32  # prosody, motion
    assert compact(np.zeros(1000, np.float32)).dtype == np.float32  # envelope
    assert compact(np.zeros((10, 256), np.int64)).dtype == np.int64


def test_spool_gives_back_what_was_appended() -> None:
    spool = _Spool()
    blocks = [np.random.default_rng(i).random((50, 521), np.float32) for i in range(3)]
    for block in blocks:
        spool.append(block)
    got = spool.read()
    assert got.dtype == np.float16 and got.shape == (150, 521)
    np.testing.assert_array_equal(got, np.concatenate(blocks).astype(np.float16))
    envelope = _Spool()
    envelope.append(np.arange(5, dtype=np.float32))
    envelope.append(np.arange(5, 8, dtype=np.float32))
    np.testing.assert_array_equal(envelope.read(), np.arange(8, dtype=np.float32))


def test_timeline_keeps_float16_sources_and_makes_the_rest_float32() -> None:
    tl = Timeline(TimeGrid(0.5, 4))
    tl.add_source("visual", np.ones((4, 1280), np.float16))
    tl.add_source("audio", np.ones((4, 6), np.float64))
    assert tl.sources["visual"].dtype == np.float16
    assert tl.sources["audio"].dtype == np.float32


def test_a_misspelt_signal_raises_and_names_the_known_ones() -> None:
    tl = Timeline(TimeGrid(0.5, 4))
    tl.add_signal("motion", np.ones(4))
    with pytest.raises(
        UnknownSignalError, match=r"unknown signal 'motoin'; the timeline has: motion"
    ):
        tl.signal("motoin")
    assert tl.has_signal("motion") and not tl.has_signal("motoin")
    assert tl.signal("speaker", default=-1.0).tolist() == [-1.0] * 4  # a stand-in asked for


def _novelty_whole(visual: np.ndarray, step: float, window: float = 10.0) -> np.ndarray:
    """The one-block formula the chunked `novelty` must reproduce."""
    unit = visual / (np.linalg.norm(visual, axis=1, keepdims=True) + 1e-8)
    csum = np.concatenate([np.zeros((1, unit.shape[1])), np.cumsum(unit, axis=0)])
    w = max(1, round(window / step))
    idx = np.arange(len(unit))
    lo = np.maximum(idx - w, 0)
    past = (csum[idx] - csum[lo]) / np.maximum(idx - lo, 1)[:, None]
    out = 1.0 - (unit * past).sum(1) / (np.linalg.norm(past, axis=1) + 1e-8)
    out[0] = 0.0
    return np.clip(out, 0.0, 1.0)


def test_chunked_novelty_matches_the_whole_video_formula() -> None:
    rng = np.random.default_rng(0)
    n = 2 * NOVELTY_CHUNK + 77
    visual = np.abs(rng.normal(size=(n, 32))) + np.linspace(0, 3, n)[:, None]
    got = novelty(visual.astype(np.float16), 0.5)
    want = _novelty_whole(visual.astype(np.float16).astype(np.float64), 0.5)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_worker_keeps_order_and_reraises() -> None:
    worker = _Worker(ahead=2)
    seen: list[int] = []
    for i in range(20):
        worker.submit(seen.append, i)
    worker.finish()
    assert seen == list(range(20))

    def fail() -> None:
        raise ValueError("boom")

    worker = _Worker(ahead=1)
    worker.submit(fail)
    with pytest.raises(ValueError, match="boom"):
        worker.finish()


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def test_a_stop_inside_cancel_leaves_the_running_task_to_the_next_cancel() -> None:
    """A stop (here SIGALRM standing in for SIGTERM) raised while a stage's thread is being
    waited for: the next `cancel` (extract_features' ``finally``) still waits for the running
    task. Python 3.11's `Thread.join`, interrupted, takes the thread for ended, and `egvs
    shorts` exited under a thread inside CTranslate2 (exit 134 or 139, a core dump)."""
    done: list[bool] = []

    def slow() -> None:
        time.sleep(1.0)
        done.append(True)

    worker = _Worker(ahead=2)
    worker.submit(slow)
    worker.submit(slow)  # queued: dropped by the stop
    previous = signal.signal(signal.SIGALRM, _stop)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            worker.cancel()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert done == []  # the stop came while the first task ran
    waiting = threading.Thread(target=worker.cancel, daemon=True)  # a hang fails, not stalls
    waiting.start()
    waiting.join(10)
    assert not waiting.is_alive() and done == [True]


def test_stage_clock_does_not_count_nested_stages_twice() -> None:
    clock = StageClock()
    with clock.process("outer"), clock.thread("inner"):
        sum(i * i for i in range(3_000_000))  # long enough that other threads' CPU is noise
    assert set(clock.seconds) == {"outer", "inner"}
    assert clock.seconds["inner"] > 0.05
    # Counted twice, "outer" would hold all of "inner"; it holds only what other threads of the
    # test process (servers of earlier tests) used meanwhile.
    assert clock.seconds["outer"] < 0.5 * clock.seconds["inner"]


def test_large_freed_buffers_are_reused_not_faulted_in_again() -> None:
    import resource  # Linux and macOS; keep_large_buffers applies on glibc only

    if not keep_large_buffers():
        pytest.skip("glibc's mallopt only")
    size = 48 << 20  # above the largest mmap threshold glibc adapts to by itself (32 MiB)
    np.ones(size, np.uint8)  # the first one grows the heap
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(20):
        np.ones(size, np.uint8)  # freed at once; each a fresh mapping by default (500 faults)
    assert resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before < 20


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_overlapping_blas_limits_give_the_threads_back_in_any_order() -> None:
    """A cancelled pass leaves its context while its audio worker is still inside a block's:
    BLAS must get its threads back when the last one leaves, not stay on one thread (Whisper's
    language detection reads a near tie differently on one BLAS thread)."""
    from threadpoolctl import threadpool_limits

    from egvs.blas import one_blas_thread

    with threadpool_limits(limits=2, user_api="blas"):  # whatever the machine, two to restore
        before = _blas_threads()
        assert before and all(n == 2 for n in before)
        pass_context, block_context = one_blas_thread(), one_blas_thread()
        pass_context.__enter__()
        block_context.__enter__()
        assert all(n == 1 for n in _blas_threads())
        pass_context.__exit__(None, None, None)  # the pass ends first...
        assert all(n == 1 for n in _blas_threads())  # ...while the block still runs on one
        block_context.__exit__(None, None, None)
        assert _blas_threads() == before
