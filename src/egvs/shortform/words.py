"""Clip edges on word boundaries: a short never starts or ends in the middle of a word."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")
SENTENCE_PAUSE = 0.5  # seconds of silence between words that also mark a sentence start
MAX_SHIFT = 3.0  # seconds an edge may move to reach a sentence boundary


class TimedWord(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...


def _sentence_starts(words: Sequence[TimedWord]) -> list[int]:
    """Indices of words that open a sentence (after end punctuation or a long pause)."""
    starts = [0] if words else []
    for i in range(1, len(words)):
        previous = words[i - 1]
        if (
            previous.text.strip().endswith(SENTENCE_END)
            or words[i].start - previous.end >= SENTENCE_PAUSE
        ):
            starts.append(i)
    return starts


def fit_to_words(
    start: float, end: float, words: Sequence[TimedWord], length: tuple[float, float]
) -> tuple[float, float]:
    """Move ``start`` to the nearest sentence start and ``end`` to the nearest sentence end.

    Each edge moves at most MAX_SHIFT seconds; if no sentence boundary is near, the edge still
    moves out of any word it would cut. The clip stays within ``length`` (else edges stay put).
    """
    if not words:
        return start, end
    opens = _sentence_starts(words)
    closes = [i - 1 for i in opens[1:]] + [len(words) - 1]
    near_open = [words[i].start for i in opens if abs(words[i].start - start) <= MAX_SHIFT]
    new_start = min(near_open, key=lambda t: abs(t - start)) - 0.15 if near_open else start
    near_close = [words[i].end for i in closes if abs(words[i].end - end) <= MAX_SHIFT]
    new_end = min(near_close, key=lambda t: abs(t - end)) + 0.25 if near_close else end
    new_start, new_end = (
        _outside_words(new_start, words, True),
        _outside_words(new_end, words, False),
    )
    if not length[0] <= new_end - new_start <= length[1]:
        new_start, new_end = _outside_words(start, words, True), _outside_words(end, words, False)
    if not length[0] <= new_end - new_start <= length[1]:
        return start, end
    return max(0.0, new_start), new_end


def _outside_words(t: float, words: Sequence[TimedWord], is_start: bool) -> float:
    """``t``, or the nearest edge of the word it falls inside (before it for a start)."""
    for w in words:
        if w.start < t < w.end:
            return w.start - 0.05 if is_start else w.end + 0.05
    return t
