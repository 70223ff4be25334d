"""Choose stand-alone clips for short-form video: each one continuous stretch around an emotional peak.

A short is not a montage: it must make sense on its own. So a clip is grown around a peak of the
importance curve (the emotion, events and motion the summary scorer fuses) to the length that keeps
the most above-typical moments, with a lead-in before the peak, then its edges are moved into speech
pauses so it starts at a sentence and ends after the moment. Clips never overlap and a clip that
looks like one already chosen (mean visual embedding, relative to the video's own variety) is
skipped, and so is one whose sound is heard again in a chosen clip (a rerun or a loop, found on
the cached loudness envelope before anything is transcribed). Clips are ranked by a documented
score (`ClipScore`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from egvs.features.audio_events import MOMENT_EVENTS
from egvs.features.emotion import VOCALIZATIONS
from egvs.scoring.fusion import face_reaction
from egvs.shots.refine import pause_mask
from egvs.timeline import ENVELOPE_HOP, Timeline

HOOK_SECONDS = 3.0  # the first seconds decide whether a viewer keeps watching
PEAK_SMOOTH = 2.0  # seconds of moving average before finding peaks
LEAD_FRACTION = (0.15, 0.6)  # where the peak may sit inside its clip (lead-in before it)
EDGE_SEARCH = 2.5  # seconds an edge may move to reach a speech pause
CLIP_GAP = 1.0  # seconds kept free between two clips
DUPLICATE_QUANTILE = (
    0.9  # a clip more alike than this share of the video's window pairs is a repeat
)
MIN_DUPLICATE_SIMILARITY = 0.9
# The same recording again: at least this share of a clip's audible 2 s stretches of the 10 ms
# loudness envelope correlate (Pearson r > 0.9) with a chosen clip's at one lag, 3 of them at
# least (`benchmarks/repeats.py`: none of 292 pairs of different recordings of the same speakers
# and sentences, all of 50 replays off the grid, quieter, under noise).
HEARD_AGAIN_SHARE = 0.5
SOUND_WINDOW = 2.0  # s
SOUND_MATCH = 0.9
SOUND_LAG_TOLERANCE = 3  # envelope values (30 ms) the matched stretches' lags may differ by
SOUND_MIN_MATCHED = 3
SOUND_AUDIBLE_DB = 10.0  # above the video's 20th percentile: a stretch mostly above it is audible
# ClipScore weights (sum to 1); see docs/shorts.md.
SCORE_WEIGHTS = {"intensity": 0.35, "peak": 0.2, "events": 0.15, "speech": 0.1, "hook": 0.2}


@dataclass
class Clip:
    """One short: ``[start, end)`` seconds of the source around ``peak``."""

    start: float
    end: float
    peak: float
    score: float = 0.0
    components: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or len(values) < width:
        return values.astype(np.float64)
    kernel = np.ones(width) / width
    padded = np.pad(values.astype(np.float64), (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def _peaks(curve: np.ndarray) -> np.ndarray:
    """Indices of local maxima, highest first."""
    left = np.concatenate([[-np.inf], curve[:-1]])
    right = np.concatenate([curve[1:], [-np.inf]])
    idx = np.flatnonzero((curve >= left) & (curve > right))
    return idx[np.argsort(-curve[idx], kind="stable")]


def _event_strength(timeline: Timeline) -> np.ndarray:
    """Per step, the strongest reaction sound: laughter, applause, screams, crying..."""
    names = [f"event.{e}" for e in MOMENT_EVENTS] + [f"vocal.{v}" for v in VOCALIZATIONS]
    return np.max([timeline.signal(n) for n in names], axis=0)


class _Pauses:
    """Speech pauses of the 10 ms loudness envelope, as sorted (start, end) seconds."""

    def __init__(self, timeline: Timeline) -> None:
        mask = pause_mask(timeline.envelope) if timeline.envelope is not None else np.zeros(0)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
        self.starts = edges[::2] * ENVELOPE_HOP
        self.ends = edges[1::2] * ENVELOPE_HOP

    def speech_start_near(self, t: float, lo: float, hi: float) -> float:
        """Where speech resumes after the pause nearest ``t`` in ``[lo, hi]`` (``t`` if none).

        Preferring earlier pauses gives the moment its lead-in.
        """
        ok = (self.ends >= lo) & (self.ends <= hi)
        if not ok.any():
            return t
        ends = self.ends[ok]
        before = ends[ends <= t]
        return float(before.max() if len(before) else ends.min()) - 0.1

    def speech_end_near(self, t: float, lo: float, hi: float) -> float:
        """Just after speech stops at the pause nearest ``t`` in ``[lo, hi]`` (``t`` if none)."""
        ok = (self.starts >= lo) & (self.starts <= hi)
        if not ok.any():
            return t
        starts = self.starts[ok]
        after = starts[starts >= t]
        chosen = float(after.min() if len(after) else starts.max())
        pause_end = float(self.ends[np.searchsorted(self.starts, chosen)])
        return min(chosen + 0.3, pause_end)


def _mean_embedding(visual: np.ndarray, a: int, b: int) -> np.ndarray:
    v = visual[a:b].astype(np.float64).mean(axis=0)
    return v / (np.linalg.norm(v) + 1e-9)


def _duplicate_threshold(visual: np.ndarray, window: int) -> float:
    """How alike two clips may look before one counts as a repeat, for this video.

    A talking-head video looks the same everywhere, a travel video never does: the threshold is a
    high quantile of the similarity between the video's own non-overlapping windows.
    """
    starts = list(range(0, max(1, len(visual) - window + 1), max(1, window)))
    if len(starts) < 3:
        return 1.0
    emb = np.stack([_mean_embedding(visual, a, a + window) for a in starts])
    sims = emb @ emb.T
    pairs = sims[np.triu_indices(len(starts), k=1)]
    return float(max(MIN_DUPLICATE_SIMILARITY, np.quantile(pairs, DUPLICATE_QUANTILE)))


def audible_level(envelope: np.ndarray) -> float:
    """The loudness (dB) above which a stretch of the video counts as audible in `heard_again`."""
    return float(np.percentile(envelope, 20)) + SOUND_AUDIBLE_DB


def heard_again(
    envelope: np.ndarray, clip: tuple[float, float], other: tuple[float, float], audible: float
) -> bool:
    """Whether ``clip`` (start, end seconds) replays the sound of ``other``: `HEARD_AGAIN_SHARE`
    of its `SOUND_WINDOW` stretches mostly above ``audible`` (`audible_level`) match ``other``'s
    loudness envelope at one lag."""
    w = round(SOUND_WINDOW / ENVELOPE_HOP)
    mine = envelope[round(clip[0] / ENVELOPE_HOP) : round(clip[1] / ENVELOPE_HOP)]
    theirs = envelope[round(other[0] / ENVELOPE_HOP) : round(other[1] / ENVELOPE_HOP)]
    if len(mine) < w or len(theirs) < w:
        return False
    views = np.lib.stride_tricks.sliding_window_view(theirs.astype(np.float64), w)
    views = (views - views.mean(1, keepdims=True)) / (views.std(1, keepdims=True) + 1e-9)
    best, lags = [], []
    for at in range(0, len(mine) - w + 1, w):
        stretch = mine[at : at + w].astype(np.float64)
        if np.mean(stretch > audible) < 0.5:
            continue  # mostly quiet: no evidence either way
        r = views @ ((stretch - stretch.mean()) / (stretch.std() + 1e-9)) / w
        k = int(np.argmax(r))
        best.append(r[k])
        lags.append(k - at)
    matched = np.array(best) > SOUND_MATCH
    if matched.sum() < SOUND_MIN_MATCHED:
        return False
    lag = np.median(np.array(lags)[matched])
    matched &= np.abs(np.array(lags) - lag) <= SOUND_LAG_TOLERANCE
    return bool(matched.sum() >= max(SOUND_MIN_MATCHED, HEARD_AGAIN_SHARE * len(best)))


def choose_clips(
    timeline: Timeline,
    importance: np.ndarray,
    duration: float,
    *,
    count: int = 5,
    length: tuple[float, float] = (15.0, 60.0),
) -> list[Clip]:
    """Up to ``count`` non-overlapping clips of ``length`` seconds, best first.

    A video shorter than the shortest clip gives one clip: the whole video.
    """
    min_len, max_len = length
    step = timeline.grid.step
    # Whole steps only, so a clip that ends at the last step still lies inside the file.
    n = min(len(importance), timeline.n_steps, int(duration / step + 1e-9))
    imp = np.asarray(importance[:n], np.float64)
    if duration <= min_len or n < 2:
        clip = Clip(0.0, duration, duration / 2)
        return [_scored(clip, timeline, imp, step)]
    curve = _smooth(imp, max(1, round(PEAK_SMOOTH / step)))
    typical = float(np.quantile(imp, 0.6))
    gain = np.concatenate([[0.0], np.cumsum(imp - typical)])
    pauses = _Pauses(timeline)
    visual = timeline.sources.get("visual")
    envelope = timeline.envelope
    audible = audible_level(envelope) if envelope is not None and len(envelope) else 0.0
    lo_len, hi_len = round(min_len / step), max(round(min_len / step), int(max_len / step))
    threshold = (
        _duplicate_threshold(visual[:n], lo_len) if visual is not None and len(visual) else 1.0
    )
    chosen: list[Clip] = []
    taken = np.zeros(n, bool)
    for p in _peaks(curve):
        if len(chosen) >= count:
            break
        if taken[p]:
            continue
        window = _best_window(p, gain, taken, lo_len, hi_len)
        if window is None:
            continue
        a, b = window
        start, end = _snap(a * step, min(b * step, duration), pauses, chosen, duration, length)
        a, b = int(start / step), min(n, int(np.ceil(end / step)))
        if (
            visual is not None
            and len(visual)
            and any(
                float(
                    _mean_embedding(visual, a, b)
                    @ _mean_embedding(visual, int(c.start / step), int(np.ceil(c.end / step)))
                )
                > threshold
                for c in chosen
            )
        ):
            taken[max(0, p - 1) : p + 2] = True  # this peak repeats a chosen clip
            continue
        if envelope is not None and any(
            heard_again(envelope, (start, end), (c.start, c.end), audible) for c in chosen
        ):
            taken[max(0, p - 1) : p + 2] = True
            continue
        clip = _scored(Clip(start, end, float((p + 0.5) * step)), timeline, imp, step)
        chosen.append(clip)
        gap = round(CLIP_GAP / step)
        taken[max(0, a - gap) : min(n, b + gap)] = True
    chosen.sort(key=lambda c: -c.score)
    return chosen


def _best_window(
    p: int, gain: np.ndarray, taken: np.ndarray, lo_len: int, hi_len: int
) -> tuple[int, int] | None:
    """The free window of ``lo_len..hi_len`` steps holding peak ``p`` with the most gain.

    The peak sits at `LEAD_FRACTION` of the window, unless the file's first or last steps are too
    near for that: then the window starts or ends with the file (a talk's closing applause).
    """
    n = len(taken)
    free = np.concatenate([[0], np.cumsum(taken)])
    best: tuple[float, int, int] | None = None
    for length in range(lo_len, min(hi_len, n) + 1):
        first = min(max(0, p - int(LEAD_FRACTION[1] * length)), n - length)
        last = max(min(n - length, p - int(LEAD_FRACTION[0] * length)), 0)
        starts = np.arange(first, last + 1)
        ends = starts + length
        ok = free[ends] - free[starts] == 0
        if not ok.any():
            continue
        value = gain[ends[ok]] - gain[starts[ok]]
        i = int(np.argmax(value))
        if best is None or value[i] > best[0] + 1e-9:
            best = (float(value[i]), int(starts[ok][i]), int(ends[ok][i]))
    return None if best is None else (best[1], best[2])


def _snap(
    start: float,
    end: float,
    pauses: _Pauses,
    chosen: list[Clip],
    duration: float,
    length: tuple[float, float],
) -> tuple[float, float]:
    """Move the edges into speech pauses, within the length range and clear of other clips."""
    lo = max([0.0] + [c.end + CLIP_GAP for c in chosen if c.end <= start + 1e-6])
    hi = min([duration] + [c.start - CLIP_GAP for c in chosen if c.start >= end - 1e-6])
    new_start = max(lo, pauses.speech_start_near(start, start - EDGE_SEARCH, start + 1.0))
    new_end = min(hi, pauses.speech_end_near(end, end - 1.0, end + EDGE_SEARCH))
    if not length[0] <= new_end - new_start <= length[1]:
        new_start, new_end = start, end
    return round(max(0.0, new_start), 3), round(min(duration, new_end), 3)


def _scored(clip: Clip, timeline: Timeline, importance: np.ndarray, step: float) -> Clip:
    """Fill ``clip.score``: the weighted sum of SCORE_WEIGHTS' components, each in [0, 1].

    The hook is the importance of the first seconds or, when higher, the clearest facial
    expression in them (a reaction shot opens a short well even when the sound is quiet).
    ``components["faces"]``, the clearest expression in the whole clip, is reported, not scored.
    """
    n = len(importance)
    a = min(int(clip.start / step), n - 1)
    b = max(a + 1, min(n, int(np.ceil(clip.end / step))))
    hook_end = min(b, a + max(1, round(HOOK_SECONDS / step)))
    scale = float(np.quantile(importance, 0.98)) or 1.0
    inside = importance[a:b]
    faces = face_reaction(timeline)
    clip.components = {
        "intensity": float(np.clip(inside.mean() / scale, 0, 1)),
        "peak": float(np.clip(_smooth(inside, 3).max() / scale, 0, 1)),
        "events": float(np.clip(_event_strength(timeline)[a:b].max(), 0, 1)),
        "speech": float(np.clip(timeline.signal("voiced")[a:b].mean(), 0, 1)),
        "hook": float(
            np.clip(max(importance[a:hook_end].mean() / scale, faces[a:hook_end].max()), 0, 1)
        ),
        "faces": float(faces[a:b].max()),
    }
    clip.score = float(sum(w * clip.components[k] for k, w in SCORE_WEIGHTS.items()))
    return clip
