"""The timeline plot: importance, arousal, the main sound events, faces and motion, with shot
boundaries and the selected segments shaded, so a person sees at a glance why the summary is what
it is. The faces lane is drawn when the analysis read faces (a video with the face stage)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from egvs.cache import atomic_write
from egvs.features.audio_events import MOMENT_EVENTS
from egvs.fonts import cjk_font_path

if TYPE_CHECKING:
    from egvs.analysis import Analysis
    from egvs.timeline import Timeline

EVENT_COLORS = {
    "laughter": "#e6a700",
    "applause": "#2a9d8f",
    "cheering": "#8ab17d",
    "screaming": "#d62828",
    "crying": "#3a86ff",
    "shouting": "#9d4edd",
}

FACE_COLORS = {"happy": "#e6a700", "surprise": "#2a9d8f", "negative": "#3a86ff"}


@functools.cache
def _cjk_family() -> str:
    """Noto Sans CJK (`egvs.fonts`, SIL OFL), registered with matplotlib once.

    Matplotlib's DejaVu Sans has no Hangul, so a Korean file name in the title would be boxes;
    no system font is assumed.
    """
    from matplotlib import font_manager

    path = str(cjk_font_path())
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


# Every word the plot shows; `plot_timeline`'s ``labels`` replaces any of them (the web app's
# Korean page). The title is formatted with the file's ``name``, the ``summary``, ``duration``
# and ``budget`` in seconds.
LABELS = {
    "title": "{name}: {summary:.1f} s summary of {duration:.1f} s (budget {budget:.1f} s, shaded)",
    "importance": "importance",
    "arousal": "arousal (voice)",
    "score": "score",
    **{event: event for event in EVENT_COLORS},
    "music": "music",
    "voice": "voice",
    "sound events": "sound events",
    "motion": "motion",
    "novelty": "novelty",
    "picture": "picture",
    "time": "time (s)",
    "faces": "faces",
    "face seen": "face seen",
    **{name: name for name in FACE_COLORS},
}


def plot_timeline(analysis: Analysis, path: Path, labels: dict[str, str] | None = None) -> None:
    """Draw and save the plot; Noto Sans CJK is only the fallback, so Latin text is unchanged.

    ``labels`` replaces words of `LABELS` (a translation); the others stay English."""
    import matplotlib

    matplotlib.use("Agg")
    families = [*matplotlib.rcParams["font.family"], _cjk_family()]
    # The bundled CJK font is Bold only: matplotlib logs "Failed to find font weight normal ...
    # now using 700" for every text that falls back to it, which is the intended weight.
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context({"font.family": families}):
            _draw(analysis, path, LABELS | (labels or {}))
    finally:
        font_log.setLevel(level)


def _faces_lane(ax, t: np.ndarray, tl: Timeline, words: dict[str, str]) -> None:
    """Where a face is seen (shaded) and how it looks: smiling, surprised, negative."""
    ax.fill_between(t, 0, tl.signal("face_present"), color="0.88", lw=0, label=words["face seen"])
    for name, color in FACE_COLORS.items():
        ax.plot(t, tl.signal(f"face_{name}"), lw=1.1, color=color, label=words[name])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(words["faces"])
    ax.legend(loc="upper right", fontsize=7, ncol=4)


def _draw(analysis: Analysis, path: Path, words: dict[str, str]) -> None:
    import matplotlib.pyplot as plt

    tl = analysis.timeline
    t = tl.grid.times + tl.grid.step / 2
    faces = "face_present" in tl.signals
    ratios = [2, 1.4, 1, 1] if faces else [2, 1.4, 1]
    fig, axes = plt.subplots(
        len(ratios),
        1,
        figsize=(12, 6.5 + 1.5 * faces),
        sharex=True,
        gridspec_kw={"height_ratios": ratios},
    )
    for ax in axes:
        for seg in analysis.segments:
            ax.axvspan(seg.start, seg.end, color="#ffd166", alpha=0.35, lw=0)
        for shot in analysis.shots[1:]:
            ax.axvline(shot.start, color="0.6", lw=0.5, ls=":")
    ax = axes[0]
    ax.plot(t, analysis.importance, color="#d1495b", lw=1.8, label=words["importance"])
    ax.plot(t, tl.signal("arousal"), color="#00798c", lw=1.0, alpha=0.8, label=words["arousal"])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(words["score"])
    ax.legend(loc="upper right", fontsize=8, ncol=2)
    budget = analysis.budget.to_dict(analysis.media.duration)
    title = words["title"].format(
        name=analysis.media.path.name,
        summary=analysis.summary_duration,
        duration=analysis.media.duration,
        budget=budget["seconds"],
    )
    ax.set_title(title, fontsize=10)
    ax = axes[1]
    shown = 0
    for event in MOMENT_EVENTS:
        values = tl.signal(f"event.{event}")
        if values.max() >= 0.1:
            ax.plot(t, values, lw=1.2, color=EVENT_COLORS[event], label=words[event])
            shown += 1
    music = tl.signal("event.music")
    ax.fill_between(t, 0, music, color="0.85", lw=0, label=words["music"])
    speech = tl.signal("voiced")
    ax.plot(t, speech, color="0.35", lw=0.8, ls="--", label=words["voice"])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(words["sound events"])
    ax.legend(loc="upper right", fontsize=7, ncol=4)
    if faces:
        _faces_lane(axes[2], t, tl, words)
    ax = axes[-1]
    motion = tl.signal("motion")
    ax.plot(
        t,
        motion / (np.percentile(motion, 99) + 1e-9),
        color="#6a4c93",
        lw=1.0,
        label=words["motion"],
    )
    ax.plot(
        t,
        tl.signal("novelty") / (tl.signal("novelty").max() + 1e-9),
        color="#8d99ae",
        lw=0.8,
        label=words["novelty"],
    )
    ax.set_ylim(0, 1.1)
    ax.set_ylabel(words["picture"])
    ax.set_xlabel(words["time"])
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    ax.set_xlim(0, analysis.media.duration)
    fig.tight_layout()
    suffix = path.suffix.lower().lstrip(".") or "png"
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format=suffix))
    plt.close(fig)
