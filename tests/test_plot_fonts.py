"""The timeline plot draws Hangul file names (Korean users' uploads) with a real font, not boxes."""

from __future__ import annotations

import warnings
from pathlib import Path

import egvs
from egvs.example import make_video
from egvs.export.plot import plot_timeline


def test_hangul_title_has_every_glyph(tmp_path: Path) -> None:
    video = make_video(tmp_path / "휴가 영상 holiday.mp4", 4.0, size=(160, 90))
    analysis = egvs.analyze(video)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_timeline(analysis, tmp_path / "plot.png")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    assert (tmp_path / "plot.png").stat().st_size > 10_000
