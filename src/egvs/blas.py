"""One BLAS thread while EGVS's stages run, safe when passes overlap.

The streamed pass gives every stage a thread of its own; OpenBLAS's second thread would only
busy-wait beside them on the stages' small products. But the thread count is process-wide, and
threadpoolctl's limiter restores on exit what it saw on entry: two that overlap and end out of
order (a cancelled pass whose audio worker is still inside its block, two web-app jobs) left
BLAS on one thread for the rest of the process. That changed more than speed: Whisper's log-mel
runs on BLAS, and its language detection called a 6 s English film clip Italian on one thread
and English on two (a near tie, 0.30/0.45 against 0.41/0.37), so a caption's language depended
on the jobs that ran before it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

_lock = threading.Lock()
_holders = 0
_limiter: threadpool_limits | None = None  # set by the first holder, undone by the last


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread inside; the threads it had come back when the last overlapping holder
    leaves, whichever order they leave in."""
    global _holders, _limiter
    with _lock:
        if _holders == 0:
            _limiter = threadpool_limits(limits=1, user_api="blas")
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None
