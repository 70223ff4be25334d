"""Editor timeline export: every format is read back with OTIO and every range checked."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import opentimelineio as otio
import pytest

from egvs.errors import OutputError
from egvs.export.timeline import FORMATS, source_rate, timecode_rate, write_timeline
from egvs.segments import Segment

SEGMENTS = [
    Segment(2.0, 4.5, 0.8, ["laughter", "loud"]),
    Segment(10.04, 13.0, 0.5, ["motion"]),
    Segment(17.3, 19.99, 0.6, ["applause"]),
]


def _media(
    path: Path, fps: float | None, video: bool = True, audio: bool = True
) -> SimpleNamespace:
    return SimpleNamespace(
        path=path,
        duration=20.0,
        fps=fps,
        has_video=video,
        has_audio=audio,
        width=320 if video else None,
        height=180 if video else None,
    )


def _read(path: Path, rate: float) -> otio.schema.Timeline:
    # An EDL does not state its rate; the reader must be told.
    kwargs = {"rate": rate} if path.suffix == ".edl" else {}
    return otio.adapters.read_from_file(str(path), **kwargs)


def _check_fcpx_spine(path: Path, rate: float) -> None:
    """The exact rational start and duration FCPXML stores for each clip (seconds as 'n/ds')."""
    exact_rate = Fraction(rate).limit_denominator(1001)
    spine = ElementTree.parse(path).getroot().find("./project/sequence/spine")
    clips = [c for c in spine if c.tag == "clip"]
    assert len(clips) == len(SEGMENTS)
    for clip, seg in zip(clips, SEGMENTS, strict=True):
        first, last = round(seg.start * rate), round(seg.end * rate)
        assert Fraction(clip.get("start").rstrip("s")) == first / exact_rate
        assert Fraction(clip.get("duration").rstrip("s")) == (last - first) / exact_rate


CASES = [  # (fps, video, audio, rate the ranges must be in)
    (24.0, True, True, 24.0),
    (30000 / 1001, True, True, 30000 / 1001),
    (29.97, True, False, 30000 / 1001),  # probed NTSC rates are snapped to the exact one
    (25.0, True, False, 25.0),
    (None, False, True, 25.0),  # audio-only: a standard timecode rate
]


@pytest.mark.parametrize("ext", list(FORMATS))
@pytest.mark.parametrize(("fps", "video", "audio", "rate"), CASES)
def test_round_trip_every_range(tmp_path: Path, ext: str, fps, video, audio, rate) -> None:
    # Only its path matters; absent, the FCPXML adapter does not run ffprobe on it.
    source = tmp_path / "my clip.mp4"
    media = _media(source, fps, video, audio)
    out = tmp_path / f"summary{ext}"
    if ext == ".fcpxml" and not video:
        with pytest.raises(OutputError, match="FCPXML"):
            write_timeline(SEGMENTS, media, out)
        assert not out.exists()
        return
    assert write_timeline(SEGMENTS, media, out) == out
    if ext == ".fcpxml":
        _check_fcpx_spine(out, rate)
        if rate != int(rate):
            return  # the adapter's reader truncates 30000/1001 to 29 fps; the file is checked above
    # The FCPXML reader truncates float seconds x rate to whole frames (250.99999 -> 250).
    tolerance = 1 / rate + 1e-6 if ext == ".fcpxml" else 1e-6
    timeline = _read(out, rate)
    tracks = [t for t in timeline.tracks if list(t.find_clips())]
    assert tracks, "no clips read back"
    expected_kinds = {"Video"} if video else {"Audio"}
    if audio and ext not in (".edl",):  # an EDL carries one track
        expected_kinds.add("Audio")
    if ext != ".edl":  # the EDL reader labels every track Video
        assert {t.kind for t in tracks} == expected_kinds
    for track in tracks:
        clips = list(track.find_clips())
        assert len(clips) == len(SEGMENTS)
        for clip, seg in zip(clips, SEGMENTS, strict=True):
            rng = clip.source_range
            first, last = round(seg.start * rate), round(seg.end * rate)
            assert rng.start_time.to_seconds() == pytest.approx(first / rate, abs=tolerance)
            assert rng.end_time_exclusive().to_seconds() == pytest.approx(
                last / rate, abs=tolerance
            )
            if ext != ".edl":  # EDL clips keep only a reel name and a comment
                assert (
                    Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url))
                    == source
                )
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"


def test_otio_keeps_exact_rate_and_reasons(tmp_path: Path) -> None:
    out = write_timeline(SEGMENTS, _media(tmp_path / "a.mp4", 15.0), tmp_path / "t.otio")
    clip = otio.adapters.read_from_file(str(out)).find_clips()[0]
    assert clip.source_range.start_time.rate == 15.0
    assert clip.metadata["egvs"]["score"] == 0.8
    assert list(clip.metadata["egvs"]["reasons"]) == ["laughter", "loud"]


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (15.0, 30.0),
        (12.5, 25.0),
        (10.0, 30.0),
        (24.0, 24.0),
        (17.0, 24.0),
        (31.0, 48.0),
        (90.0, 60.0),
    ],
)
def test_timecode_rate_keeps_every_source_frame(fps: float, expected: float) -> None:
    assert timecode_rate(fps) == expected


def test_source_rate() -> None:
    assert source_rate(_media(Path("a"), 23.976)) == pytest.approx(24000 / 1001, abs=1e-12)
    assert source_rate(_media(Path("a"), 0.0)) == 25.0
    assert source_rate(_media(Path("a"), None, video=False)) == 25.0


def test_edl_at_non_timecode_rate(tmp_path: Path) -> None:
    """A 15 fps source is cut at 30 fps timecode: every range still starts on a source frame."""
    out = write_timeline(SEGMENTS, _media(tmp_path / "s.mp4", 15.0), tmp_path / "s.edl")
    clips = list(_read(out, 30.0).find_clips())
    for clip, seg in zip(clips, SEGMENTS, strict=True):
        assert clip.source_range.start_time.to_seconds() == pytest.approx(
            round(seg.start * 15) / 15
        )


def test_ranges_clamped_to_media(tmp_path: Path) -> None:
    segs = [Segment(-1.0, 1.0), Segment(19.5, 25.0)]
    out = write_timeline(segs, _media(tmp_path / "a.mp4", 25.0), tmp_path / "t.otio")
    clips = list(otio.adapters.read_from_file(str(out)).find_clips())
    assert clips[0].source_range.start_time.value == 0
    assert clips[1].source_range.end_time_exclusive().to_seconds() == pytest.approx(20.0)


def test_errors_leave_nothing(tmp_path: Path) -> None:
    media = _media(tmp_path / "a.mp4", 25.0)
    with pytest.raises(OutputError, match=r"\.otio, \.edl, \.xml, \.fcpxml"):
        write_timeline(SEGMENTS, media, tmp_path / "t.aaf")
    with pytest.raises(OutputError, match="does not exist"):
        write_timeline(SEGMENTS, media, tmp_path / "missing" / "t.otio")
    with pytest.raises(OutputError, match="no segments"):
        write_timeline([], media, tmp_path / "t.otio")
    assert list(tmp_path.iterdir()) == []


def test_overwrites_atomically(tmp_path: Path) -> None:
    out = tmp_path / "t.edl"
    out.write_text("old")
    write_timeline(SEGMENTS, _media(tmp_path / "a.mp4", 25.0), out)
    assert out.read_text().startswith("TITLE:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.edl"]
