"""Editor timeline export: every format is read back with OTIO and every range checked.

The source is a 60-minute file at the broadcast rates (NTSC 23.976/29.97/59.94 and 25/50), with a
clip near its end, where a rate that is off by 1000/1001 or truncated to 23 fps drifts by seconds.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import opentimelineio as otio
import pytest

from egvs.errors import OutputError
from egvs.export.timeline import (
    FORMATS,
    edl_title_rate,
    source_rate,
    timecode_rate,
    write_timeline,
)
from egvs.segments import Segment

HOUR = 3600.0
SEGMENTS = [
    Segment(2.002, 4.5, 0.8, ["laughter", "loud"]),
    Segment(1000.3, 1010.04, 0.5, ["motion"]),
    Segment(2400.0, 2406.7, 0.6, ["applause"]),
    Segment(3590.1, 3599.95, 0.7, ["screaming"]),  # near the end, where drift is largest
]
# Probed rate -> the exact rate every range must be counted in.
RATES = {
    23.976: Fraction(24000, 1001),
    29.97: Fraction(30000, 1001),
    59.94: Fraction(60000, 1001),
    25.0: Fraction(25),
    50.0: Fraction(50),
}


def _media(
    path: Path, fps: float | None, video: bool = True, audio: bool = True, duration: float = HOUR
) -> SimpleNamespace:
    return SimpleNamespace(
        path=path,
        duration=duration,
        fps=fps,
        has_video=video,
        has_audio=audio,
        width=1920 if video else None,
        height=1080 if video else None,
    )


def _expected(rate: Fraction, duration: float = HOUR) -> list[tuple[int, int, int]]:
    """(first, last, record) frames each clip must have: snapped, back to back from frame 0."""
    total, out, record = round(duration * rate), [], 0
    for seg in SEGMENTS:
        first, last = round(seg.start * rate), min(round(seg.end * rate), total)
        out.append((first, last, record))
        record += last - first
    return out


def _exact_fcpx_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTIO's FCPXML reader truncates every rate to an integer (1001/24000s -> 23 fps, OTIO issue
    #903), which no file can avoid; for NTSC files its two rate helpers are made exact."""
    module = otio.adapters.from_name("fcpx_xml").module()

    def frame_rate(self: object, format_id: str) -> float:
        total, rate = self._format_frame_duration(format_id)  # type: ignore[attr-defined]
        return float(Fraction(int(rate), int(total)))

    def to_rational_time(value: str | None, fps: float) -> otio.opentime.RationalTime:
        seconds = Fraction(value.rstrip("s")) if value else Fraction(0)
        return otio.opentime.RationalTime(float(seconds * Fraction(fps)), fps)

    monkeypatch.setattr(module.FcpxXml, "_format_frame_rate", frame_rate)
    monkeypatch.setattr(module, "to_rational_time", to_rational_time)


def _read(path: Path, rate: Fraction, monkeypatch: pytest.MonkeyPatch) -> otio.schema.Timeline:
    if path.suffix == ".edl":  # an EDL has no rate field: the one its TITLE states
        stated = edl_title_rate(path.read_text())
        assert stated == float(rate)
        return otio.adapters.read_from_file(str(path), rate=stated)
    if path.suffix == ".fcpxml":
        if rate.denominator != 1:
            _exact_fcpx_reader(monkeypatch)
        (timeline,) = otio.adapters.read_from_file(str(path))  # library > event > project
        return timeline
    return otio.adapters.read_from_file(str(path))


def _check_fcpxml(path: Path, rate: Fraction, source: Path) -> None:
    """Well-formed; every clip inside library/event/project; exact frame times; audio linked."""
    root = ElementTree.parse(path).getroot()  # raises on malformed XML
    frame = 1 / rate
    (fmt,) = root.findall("./resources/format")
    assert fmt.get("frameDuration") == f"{frame.numerator}/{frame.denominator}s"
    (asset,) = root.findall("./resources/asset")
    assert (asset.get("hasVideo"), asset.get("hasAudio")) == ("1", "1")
    assert asset.find("./media-rep").get("src") == source.as_uri()
    spine = root.find("./library/event/project/sequence/spine")
    clips = list(spine)
    assert len(list(root.iter("asset-clip"))) == len(clips) == len(SEGMENTS)
    # Audio lives inside each asset-clip: no audio elements, lanes or nested clips to drift.
    assert not [e for e in root.iter() if e.tag in ("audio", "clip", "gap") or e.get("lane")]

    def frames(value: str) -> Fraction:
        return Fraction(value.rstrip("s")) / frame

    for clip, (first, last, record) in zip(clips, _expected(rate), strict=True):
        assert clip.tag == "asset-clip" and clip.get("ref") == asset.get("id")
        assert frames(clip.get("offset")) == record
        assert frames(clip.get("start")) == first
        assert frames(clip.get("duration")) == last - first


def _check_xmeml(path: Path, rate: Fraction) -> None:
    """NTSC flag and integer timebase everywhere; each clip's picture and sound linked."""
    root = ElementTree.parse(path).getroot()
    for element in root.iter("rate"):
        assert element.findtext("timebase") == str(round(rate))
        assert element.findtext("ntsc") == ("TRUE" if rate.denominator == 1001 else "FALSE")
    for kind in ("video", "audio"):
        items = root.findall(f"./sequence/media/{kind}/track/clipitem")
        assert len(items) == len(SEGMENTS)
        for number, item in enumerate(items, 1):
            links = {
                (ln.findtext("linkclipref"), ln.findtext("mediatype")) for ln in item.iter("link")
            }
            assert links == {(f"clipitem-{k}-{number}", k) for k in ("video", "audio")}


def _check_edl(path: Path) -> None:
    """Non-drop-frame, said so, and every event takes picture and sound together."""
    lines = path.read_text().splitlines()
    assert lines[1] == "FCM: NON-DROP FRAME"
    events = [line.split() for line in lines if line[:1].isdigit()]
    assert len(events) == len(SEGMENTS)
    assert all(event[2] == "B" and ";" not in " ".join(event) for event in events)


@pytest.mark.parametrize("ext", list(FORMATS))
@pytest.mark.parametrize("fps", list(RATES))
def test_round_trip_within_a_frame_over_an_hour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str, fps: float
) -> None:
    rate = RATES[fps]
    source = tmp_path / "my clip.mp4"  # only its path matters
    out = tmp_path / f"summary{ext}"
    assert write_timeline(SEGMENTS, _media(source, fps), out) == out
    if ext == ".fcpxml":
        _check_fcpxml(out, rate, source)
    elif ext == ".xml":
        _check_xmeml(out, rate)
    elif ext == ".edl":
        _check_edl(out)

    timeline = _read(out, rate, monkeypatch)
    tracks = [t for t in timeline.tracks if list(t.find_clips())]
    # FCPXML: one lane of asset-clips that carry their audio; the others: a video and an audio
    # track with the same cuts.
    kinds = ["Video"] if ext == ".fcpxml" else ["Video", "Audio"]
    assert [t.kind for t in tracks] == kinds
    frame = 1 / float(rate)
    for track in tracks:
        clips = list(track.find_clips())
        assert len(clips) == len(SEGMENTS)
        for clip, (first, last, record) in zip(clips, _expected(rate), strict=True):
            rng = clip.source_range
            assert rng.start_time.to_seconds() == pytest.approx(first * frame, abs=frame)
            assert rng.duration.to_seconds() == pytest.approx((last - first) * frame, abs=frame)
            position = clip.range_in_parent().start_time.to_seconds()
            assert position == pytest.approx(record * frame, abs=frame)
            if ext != ".fcpxml":  # FCPXML 1.9 media-rep is checked above; OTIO reads only src=
                url = clip.media_reference.target_url
                assert Path(otio.url_utils.filepath_from_url(url)) == source
            if ext != ".fcpxml" or rate.denominator == 1:  # read at its exact rate, not 23 fps
                assert rng.start_time.rate == pytest.approx(float(rate), abs=1e-9)
    assert [p.name for p in tmp_path.iterdir()] == [out.name], "temporary file left behind"


@pytest.mark.parametrize("ext", list(FORMATS))
@pytest.mark.parametrize(("video", "audio"), [(True, False), (False, True)])
def test_single_stream_sources(tmp_path: Path, ext: str, video: bool, audio: bool) -> None:
    """Video-only gets picture tracks only; audio-only a 25 fps audio track (FCPXML refuses it)."""
    media = _media(tmp_path / "a.mp4", 25.0 if video else None, video, audio)
    out = tmp_path / f"t{ext}"
    if ext == ".fcpxml" and not video:
        with pytest.raises(OutputError, match="FCPXML"):
            write_timeline(SEGMENTS, media, out)
        assert not out.exists()
        return
    write_timeline(SEGMENTS, media, out)
    timeline = otio.adapters.read_from_file(str(out), **({"rate": 25} if ext == ".edl" else {}))
    if ext == ".fcpxml":
        (timeline,) = timeline
        assert 'hasAudio="1"' not in out.read_text()
    kinds = {t.kind for t in timeline.tracks if list(t.find_clips())}
    assert kinds == {"Video" if video else "Audio"}
    first = timeline.find_clips()[0].source_range.start_time
    assert first.to_seconds() == pytest.approx(round(2.002 * 25) / 25)


def test_otio_keeps_exact_rate_and_reasons(tmp_path: Path) -> None:
    out = write_timeline(SEGMENTS, _media(tmp_path / "a.mp4", 15.0), tmp_path / "t.otio")
    clip = otio.adapters.read_from_file(str(out)).find_clips()[0]
    assert clip.source_range.start_time.rate == 15.0
    assert clip.metadata["egvs"]["score"] == 0.8
    assert list(clip.metadata["egvs"]["reasons"]) == ["laughter", "loud"]


def test_fcpxml_notes_say_why(tmp_path: Path) -> None:
    out = write_timeline(SEGMENTS, _media(tmp_path / "a.mp4", 25.0), tmp_path / "t.fcpxml")
    notes = [c.findtext("note") for c in ElementTree.parse(out).getroot().iter("asset-clip")]
    assert notes == ["laughter, loud", "motion", "applause", "screaming"]


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


def test_edl_title_rate() -> None:
    assert edl_title_rate("TITLE: a (EGVS summary) at 29.97 fps = 30000/1001\n") == 30000 / 1001
    assert edl_title_rate("TITLE: 30 fps (EGVS summary) at 25 fps\nFCM: NON-DROP FRAME") == 25.0
    with pytest.raises(ValueError, match="no rate"):
        edl_title_rate("TITLE: someone else's EDL\n")


def test_edl_at_non_timecode_rate(tmp_path: Path) -> None:
    """A 15 fps source is cut at 30 fps timecode: every range still starts on a source frame."""
    out = write_timeline(SEGMENTS, _media(tmp_path / "s.mp4", 15.0), tmp_path / "s.edl")
    assert edl_title_rate(out.read_text()) == 30.0
    clips = otio.adapters.read_from_file(str(out), rate=30.0).video_tracks()[0].find_clips()
    for clip, seg in zip(clips, SEGMENTS, strict=True):
        assert clip.source_range.start_time.to_seconds() == pytest.approx(
            round(seg.start * 15) / 15
        )


def test_ranges_clamped_to_media(tmp_path: Path) -> None:
    segs = [Segment(-1.0, 1.0), Segment(19.5, 25.0)]
    media = _media(tmp_path / "a.mp4", 25.0, duration=20.0)
    out = write_timeline(segs, media, tmp_path / "t.otio")
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
