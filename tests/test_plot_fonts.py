"""The timeline plot draws Hangul file names (Korean users' uploads) with a real font, not boxes."""

from __future__ import annotations

import subprocess
import sys
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


def test_plot_prints_no_font_fallback_noise(tmp_path: Path) -> None:
    """The bundled CJK font is Bold only; falling back to it is intended, not worth a log line.

    Run in a fresh process: matplotlib warns once per process, so an earlier plot would hide it.
    """
    video = make_video(tmp_path / "휴가.mp4", 4.0, size=(160, 90))
    cmd = [sys.executable, "-m", "egvs.cli.main", "analyze", str(video), "-q"]
    cmd += ["--json", str(tmp_path / "a.json")]
    run = subprocess.run(
        [*cmd, "--plot", str(tmp_path / "plot.png")], capture_output=True, text=True, check=True
    )
    assert "findfont" not in run.stderr + run.stdout
    assert (tmp_path / "plot.png").stat().st_size > 10_000
