"""Progress bars for long stages (tqdm on stderr), silenced by ``-q`` or when not needed."""

from __future__ import annotations

import functools
import logging
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # tqdm is imported when a bar or a line is shown: `egvs --help` starts faster
    from tqdm.auto import tqdm

logger = logging.getLogger("egvs")
_state: dict[str, Any] = {"verbosity": 0, "lost_stop": None}


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each message, on a line of its own.

    Through `tqdm.write`, which clears any progress bar first and redraws it after, so a
    warning never lands on the bar's line.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            say(self.format(record))
        except Exception:
            self.handleError(record)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def set_verbosity(level: int) -> None:
    """-1: quiet (errors only, no bars); 0: warnings and bars; 1: info; 2: debug."""
    _state["verbosity"] = level
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("egvs: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    levels = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}
    logger.setLevel(levels.get(level, logging.DEBUG))


def say(line: str) -> None:
    """One line on stderr, below any progress bar (errors and warnings of the CLI).

    Imports nothing: it runs on the way out of a SIGTERM or Ctrl-C that may have struck in the
    middle of an import (tqdm imports asyncio). Without tqdm loaded no bar can be on screen.
    """
    tqdm = getattr(sys.modules.get("tqdm.auto"), "tqdm", None)
    if tqdm is not None:
        try:
            tqdm.write(line, file=sys.stderr)
            return
        except Exception:  # tqdm itself half imported when the signal struck
            pass
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def verbosity() -> int:
    """The level `set_verbosity` last set (0 until then)."""
    return int(_state["verbosity"])


def bars_enabled() -> bool:
    return _state["verbosity"] >= 0


def stop_was_lost(stop: BaseException | None) -> None:
    """A stop (SIGTERM, Ctrl-C) raised where Python ignores exceptions: in a finalizer, a garbage
    collection, a C library's callback (``sys.unraisablehook`` reports it). The next progress
    update raises it again, so the run still stops."""
    _state["lost_stop"] = stop


def _raise_lost_stop() -> None:
    stop, _state["lost_stop"] = _state["lost_stop"], None
    if stop is not None:
        raise stop


@functools.cache
def _stoppable(bar_class: type) -> type:
    """``bar_class`` (tqdm's, or the web app's) whose updates raise a lost stop."""

    class StoppableBar(bar_class):
        def update(self, n: float | None = 1) -> bool | None:
            _raise_lost_stop()
            return super().update(n)

    return StoppableBar


def progress(total: float | None = None, desc: str = "", unit: str = "it", **kwargs: Any) -> tqdm:
    """A progress bar; a no-op bar when quiet. Every update is a point where a stop that was
    lost (`stop_was_lost`) takes effect."""
    from tqdm.auto import tqdm

    return _stoppable(tqdm)(
        total=total,
        desc=desc,
        unit=unit,
        disable=not bars_enabled(),
        leave=False,
        dynamic_ncols=True,
        **kwargs,
    )
