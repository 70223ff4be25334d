"""Caption cues from timed words, and SRT / WebVTT files.

Words are grouped by timing: a cue ends at a pause, after a sentence, or when its text would need
more than ``max_lines`` lines; a full cue is cut after its last clause (comma) when what precedes
it lasts long enough to read.
Lines are balanced (the shortest longest line). Widths count East Asian wide characters (Hangul,
kanji, kana) as two, so ``max_chars`` means the same screen width in every script; scripts written
without spaces (Chinese, Japanese) are joined without them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from egvs.atomic import atomic_write
from egvs.captions.transcribe import Word

SENTENCE_END = tuple(".?!…。？！")
CLAUSE_END = tuple(",;:，、；：")


@dataclass(frozen=True)
class Cue:
    """One caption on screen from ``start`` to ``end`` (source seconds), one string per line."""

    start: float
    end: float
    lines: list[str]


def text_width(text: str) -> int:
    """Screen width in Latin character cells (wide East Asian characters count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _unspaced(char: str) -> bool:
    """Han ideographs and kana: scripts written without spaces between words."""
    name = unicodedata.name(char, "")
    return name.startswith(("CJK UNIFIED", "HIRAGANA", "KATAKANA", "CJK COMPATIBILITY IDEOGRAPH"))


def join_words(tokens: Sequence[str]) -> str:
    """The tokens as one line: a space between them except between two unspaced-script tokens."""
    out = ""
    for token in tokens:
        if out and not (_unspaced(out[-1]) and _unspaced(token[0])):
            out += " "
        out += token
    return out


def _wrap(tokens: Sequence[str], limit: int) -> list[list[str]]:
    """Greedy wrap at ``limit`` cells; a token wider than the limit gets a line of its own."""
    lines: list[list[str]] = []
    for token in tokens:
        if lines and text_width(join_words([*lines[-1], token])) <= limit:
            lines[-1].append(token)
        else:
            lines.append([token])
    return lines


def break_lines(tokens: Sequence[str], max_chars: int) -> list[str]:
    """The fewest lines of at most ``max_chars`` cells, balanced (their longest line is shortest)."""
    n_lines = len(_wrap(tokens, max_chars))
    widest_token = max(text_width(t) for t in tokens)
    for limit in range(min(widest_token, max_chars), max_chars + 1):
        lines = _wrap(tokens, limit)
        if len(lines) <= n_lines:
            return [join_words(line) for line in lines]
    return [join_words(line) for line in _wrap(tokens, max_chars)]


def _group(
    words: Sequence[Word], max_chars: int, max_lines: int, max_gap: float, min_duration: float
) -> list[list[Word]]:
    groups: list[list[Word]] = []
    for word in words:
        current = groups[-1] if groups else None
        if (
            current is None
            or word.start - current[-1].end > max_gap
            or current[-1].text.endswith(SENTENCE_END)
        ):
            groups.append([word])
            continue
        current.append(word)
        if len(_wrap([w.text for w in current], max_chars)) > max_lines:
            # Overflow: cut after the cue's last clause if what comes before it lasts long enough
            # to be read, else before this word.
            cut = next(
                (
                    i + 1
                    for i in range(len(current) - 2, -1, -1)
                    if current[i].text.endswith(CLAUSE_END)
                    and current[i].end - current[0].start >= min_duration
                ),
                len(current) - 1,
            )
            groups[-1], rest = current[:cut], current[cut:]
            groups.append(rest)
    return groups


def caption_cues(
    words: Sequence[Word],
    *,
    max_chars: int = 32,
    max_lines: int = 2,
    max_gap: float = 0.6,
    min_duration: float = 0.7,
) -> list[Cue]:
    """Group timed words into cues of at most ``max_lines`` lines of ``max_chars`` cells.

    A cue lasts from its first word's start to its last word's end, stretched to ``min_duration``
    when the next cue leaves room; cues never overlap and their times only grow.
    """
    kept = [w for w in words if w.text.strip()]
    cues: list[Cue] = []
    for group in _group(kept, max_chars, max_lines, max_gap, min_duration):
        start = max(group[0].start, cues[-1].end if cues else 0.0)
        cues.append(
            Cue(start, max(group[-1].end, start), break_lines([w.text for w in group], max_chars))
        )
    for i, cue in enumerate(cues):
        limit = cues[i + 1].start if i + 1 < len(cues) else float("inf")
        end = min(max(cue.end, cue.start + min_duration), limit)
        cues[i] = Cue(cue.start, max(end, cue.end), cue.lines)
    return cues


def _clock(seconds: float, separator: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def _shifted(cues: Sequence[Cue], offset: float) -> list[tuple[float, float, list[str]]]:
    """Cue times minus ``offset`` (clip time); cues that end before the clip starts are left out."""
    out = []
    for cue in cues:
        start, end = max(cue.start - offset, 0.0), cue.end - offset
        if end > 0:
            out.append((start, end, cue.lines))
    return out


def _vtt_escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_srt(cues: Sequence[Cue], path: str | Path, offset: float = 0.0) -> Path:
    """Write SubRip captions; ``offset`` (s) is subtracted so a clip's captions start at its 0."""
    blocks = [
        f"{i}\n{_clock(start, ',')} --> {_clock(end, ',')}\n" + "\n".join(lines)
        for i, (start, end, lines) in enumerate(_shifted(cues, offset), 1)
    ]
    return _write(path, "\n\n".join(blocks) + "\n" if blocks else "")


def write_vtt(cues: Sequence[Cue], path: str | Path, offset: float = 0.0) -> Path:
    """Write WebVTT captions; ``offset`` (s) is subtracted so a clip's captions start at its 0."""
    blocks = [
        f"{_clock(start, '.')} --> {_clock(end, '.')}\n" + "\n".join(map(_vtt_escape, lines))
        for start, end, lines in _shifted(cues, offset)
    ]
    return _write(path, "WEBVTT\n\n" + "\n\n".join(blocks) + ("\n" if blocks else ""))


def _write(path: str | Path, text: str) -> Path:
    out = Path(path)
    atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return out
