"""Smart rendering (`--render copy`): whole GOPs copied byte for byte, the cuts exact and in sync.

The sources code their frame index in the picture and flash with a beep (as in
test_media_edge), in the shapes that break naive stream-copy cutters: short and long GOPs,
B-frames, open GOPs, variable frame rate, several SPS/PPS, a rotated picture; H.264 (x264) and
HEVC (x265).
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media_checks import stream_durations
from test_media_edge import (
    FPS,
    HEIGHT,
    SEGMENTS,
    SR,
    WIDTH,
    _flashing,
    frame_index,
    onsets,
    picture,
)

from egvs.errors import InputError
from egvs.media.probe import probe
from egvs.render import smart
from egvs.render.smart import Avcc, CannotCopy, Hvcc, _hevc_ids, annexb_units
from egvs.render.video import AUTO_HEVC, render_summary
from egvs.segments import Segment

DURATION = 24.0
TB = Fraction(1, 1000)


def _vfr_times(n: int) -> list[int]:
    """Milliseconds of ``n`` frames shown for 20, 40 or 80 ms in turn (a 40 ms mean)."""
    steps = [40, 20, 80, 40, 20, 40, 40, 20, 40, 60]
    return [sum(steps[k % len(steps)] for k in range(i)) for i in range(n)]


def _image(index: int, ms: int) -> av.VideoFrame:
    img = picture(index)
    img[HEIGHT // 2 :] = 255 if _flashing(np.array(ms / 1000)) else 0
    frame = av.VideoFrame.from_ndarray(np.repeat(img[..., None], 3, 2), "rgb24")
    frame.pts, frame.time_base = ms, TB
    return frame


ENCODERS = {"h264": "libx264", "hevc": "libx265"}


def _encoder(codec: str, gop: int, options: dict[str, str]) -> av.VideoCodecContext:
    """x264 with ``options``, or x265 with ``options`` (its x265-params after these)."""
    enc = av.CodecContext.create(ENCODERS[codec], "w")
    enc.width, enc.height, enc.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    enc.time_base, enc.framerate, enc.gop_size = TB, FPS, gop
    enc.flags |= av.codec.context.Flags.global_header
    if codec == "hevc":
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error"
        options = {
            **options,
            "x265-params": ":".join(filter(None, [params, options.get("x265-params")])),
        }
        enc.options = {"preset": "fast", "crf": "18", **options}
    else:
        enc.options = {"preset": "fast", "crf": "18", "sc_threshold": "0", **options}
    enc.open()
    return enc


def _template(path: Path, codec: str) -> Path:
    """A one-picture mp4 of the sources' codec and size: a stream to copy the settings of."""
    with av.open(str(path), "w") as out:
        v = out.add_stream(ENCODERS[codec], rate=FPS)
        v.width, v.height, v.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        if codec == "hevc":
            v.options = {"x265-params": "log-level=error"}
        for packet in [*v.encode(_image(0, 0)), *v.encode()]:
            packet.dts = packet.pts  # libx265 can leave a lone picture's DTS unset
            out.mux(packet)
    return path


def make_source(
    path: Path,
    *,
    gop: int,
    options: dict[str, str] | None = None,
    vfr: bool = False,
    rotation: int = 0,
    variants: int = 1,
    codec: str = "h264",
) -> Path:
    """An H.264 or HEVC + AAC source. ``variants`` > 1 (H.264) encodes GOP k with x264 setting
    k % variants (CABAC or not, SPS/PPS id k % variants), all parameter sets in one avcC; HEVC's
    Annex B pictures and parameter sets are put in the container's hvcC form by its muxer."""
    n = int(DURATION * FPS)
    times = _vfr_times(n) if vfr else [i * 1000 // FPS for i in range(n)]
    options = options or {}

    def variant(k: int) -> av.VideoCodecContext:
        if codec == "hevc":
            return _encoder(codec, gop, options)
        params = ":".join(filter(None, [f"sps-id={k}", options.get("x264-params")]))
        return _encoder(codec, gop, {**options, "coder": str(k % 2), "x264-params": params})

    encoders = [variant(k) for k in range(variants)]
    sets = [annexb_units(bytes(e.extradata)) for e in encoders]
    avcc = (
        Avcc(100, 0, 30, 4, [s[0] for s in sets], [s[1] for s in sets]) if codec == "h264" else None
    )
    sound = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(int(DURATION * SR)) / SR)
    sound = (sound * _flashing(np.arange(len(sound)) / SR)).astype(np.float32)
    with (
        av.open(str(_template(path.with_name("template.mp4"), codec))) as template,
        av.open(str(path), "w") as out,
    ):
        v = out.add_stream_from_template(template.streams.video[0])
        v.codec_context.extradata = avcc.to_bytes() if avcc else encoders[0].extradata
        v.time_base = TB
        if rotation:
            v.set_display_rotation(rotation)
        a = out.add_stream("aac", rate=SR)
        a.layout = "mono"
        done = 0
        pending: list[av.Packet] = []

        def put(packets: list[av.Packet]) -> None:
            for p in packets:
                sample = av.Packet(avcc.sample(annexb_units(bytes(p))) if avcc else p)
                sample.pts, sample.dts, sample.is_keyframe = p.pts, p.dts, p.is_keyframe
                sample.time_base, sample.stream = TB, v
                pending.append(sample)

        enc = encoders[0]
        for i, ms in enumerate(times):
            if variants > 1 and i % gop == 0 and i:
                put(enc.encode(None))  # this GOP's encoder is done; the next one starts with IDR
                k = i // gop % variants
                encoders[k] = enc = variant(k)
            put(enc.encode(_image(i, ms)))
            while done < min(len(sound), (ms + 40) * SR // 1000):
                block = av.AudioFrame.from_ndarray(sound[None, done : done + 1024], "fltp", "mono")
                block.sample_rate, block.pts, block.time_base = SR, done, Fraction(1, SR)
                pending.extend(a.encode(block))
                done += 1024
            for p in pending:
                out.mux(p)
            pending.clear()
        put(enc.encode(None))
        pending.extend(a.encode())
        for p in pending:
            out.mux(p)
    return path


def _video(path: Path) -> tuple[list[float], list[int], list[bytes], list[bool]]:
    """Per picture in display order: its time, coded index, packet bytes and keyframe flag."""
    with av.open(str(path)) as c:
        packets = sorted(
            (
                (float(p.pts * p.time_base), bytes(p), p.is_keyframe)
                for p in c.demux(video=0)
                if p.size
            ),
            key=lambda x: x[0],
        )
        c.seek(0)
        indices = [frame_index(f.to_ndarray(format="gray")) for f in c.decode(video=0)]
    return (
        [t for t, _, _ in packets],
        indices,
        [b for _, b, _ in packets],
        [k for _, _, k in packets],
    )


def _expected(src: Path, segments: list[Segment]) -> list[tuple[float, int]]:
    """(output time, source index) the rule of `egvs.render.video` gives: per segment the source
    pictures from the one nearest its start, for its length rounded to whole frames."""
    times, indices, _, _ = _video(src)
    with av.open(str(src)) as c:
        rate = Fraction(c.streams.video[0].average_rate).limit_denominator(1001)
    half, out, offset = 0.5 / rate, [], Fraction(0)
    for seg in segments:
        length = max(1, round(seg.duration * rate)) / rate
        first = max((t for t in times if t <= seg.start + half), default=times[0])
        out += [
            (float(offset) + t - first, i)
            for t, i in zip(times, indices, strict=True)
            if first <= t < first + length - half - 1e-6
        ]
        offset += length
    return out


def _check(src: Path, out: Path, segments: list[Segment], rendered: float) -> int:
    """Asserts what every summary must hold; returns how many pictures are the source's own
    packets, byte for byte."""
    if shutil.which("ffmpeg"):
        run = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", out, "-f", "null", "-"], capture_output=True, text=True
        )
        assert run.returncode == 0 and run.stderr == ""
    durations = stream_durations(out)
    assert durations["audio"] == pytest.approx(rendered, abs=0.03)
    times, indices, data, _ = _video(out)
    expected = _expected(src, segments)
    assert indices == [i for _, i in expected]
    assert times == pytest.approx([t for t, _ in expected], abs=1e-3)

    with av.open(str(out)) as c:
        chunks = [(float(f.time), f.to_ndarray().reshape(-1)) for f in c.decode(audio=0)]
    sound = np.concatenate([x for _, x in chunks])
    beeps = onsets(chunks[0][0] + np.arange(len(sound)) / SR, np.abs(sound) > 0.1)
    with av.open(str(out)) as c:
        shown = [
            (float(f.time), f.to_ndarray(format="gray")[HEIGHT // 2 :].mean() > 128)
            for f in c.decode(video=0)
        ]
    flashes = onsets(np.array([t for t, _ in shown]), np.array([on for _, on in shown]))
    assert len(flashes) >= 3
    for t in flashes:
        assert np.abs(beeps - t).min() <= 0.045, (t, beeps)

    _, src_indices, src_data, keys = _video(src)
    by_index = dict(zip(src_indices, src_data, strict=True))
    return sum(by_index[i] == d for i, d in zip(indices, data, strict=True))


def _copied_gops(src: Path, segments: list[Segment]) -> int:
    """Pictures in the source GOPs that lie wholly inside a segment's kept pictures."""
    _, indices, _, keys = _video(src)
    starts = [i for i, k in zip(indices, keys, strict=True) if k] + [len(indices)]
    kept = {i for _, i in _expected(src, segments)}
    return sum(b - a for a, b in zip(starts, starts[1:]) if set(range(a, b)) <= kept)


CASES = {
    "12-frame-gop-b-pyramid": dict(gop=12, options={"bf": "3"}),
    "2s-gop-no-b-frames": dict(gop=50, options={"bf": "0"}),
    "10s-gop": dict(gop=250, options={"bf": "2"}),
    "variable-frame-rate": dict(gop=25, options={"bf": "2"}, vfr=True),
    "two-sps-pps": dict(gop=25, variants=2),
    "rotated": dict(gop=25, options={"bf": "1"}, rotation=90),
    "hevc-12-frame-gop-b-frames": dict(
        codec="hevc", gop=12, options={"x265-params": "bframes=3:open-gop=0"}
    ),
    "hevc-2s-gop-no-b-frames": dict(
        codec="hevc", gop=50, options={"x265-params": "bframes=0:open-gop=0"}
    ),
    "hevc-variable-frame-rate": dict(
        codec="hevc", gop=25, options={"x265-params": "bframes=2:open-gop=0"}, vfr=True
    ),
}
OPEN_GOPS = {
    "h264": {"bf": "3", "x264-params": "open-gop=1"},
    "hevc": {"x265-params": "bframes=3:open-gop=1"},  # CRA keyframes with RASL pictures
}
# the segments start and end off the frame grid; the last spans two whole 1 s GOPs
CUTS = [*SEGMENTS[:2], Segment(14.93, 19.11)]


@pytest.mark.parametrize("case", list(CASES))
def test_copy_keeps_whole_gops_and_cuts_exactly(tmp_path: Path, case: str) -> None:
    src = make_source(tmp_path / "in.mp4", **CASES[case])
    out = tmp_path / "out.mp4"
    way = "copy" if CASES[case].get("codec") == "hevc" else "auto"  # auto encodes HEVC (below)
    rendered, used, why = render_summary(probe(src), CUTS, out, render=way)
    assert (used, why) == ("copy", "")
    identical = _check(src, out, CUTS, rendered)
    assert identical == _copied_gops(src, CUTS)
    if CASES[case]["gop"] <= 50:
        assert identical >= 50  # at least two seconds copied
    if case == "rotated":
        assert probe(out).rotation == 90


@pytest.mark.parametrize("case", ["12-frame-gop-b-pyramid", "hevc-12-frame-gop-b-frames"])
@pytest.mark.parametrize("suffix", [".mkv", ".mov"])
def test_copy_into_other_containers(tmp_path: Path, suffix: str, case: str) -> None:
    """From mp4 (H.264) or from the output's own container (HEVC: hvcC in a mov box, or in
    Matroska's CodecPrivate)."""
    src_name = "in.mp4" if CASES[case].get("codec", "h264") == "h264" else f"in{suffix}"
    src = make_source(tmp_path / src_name, **CASES[case])
    out = tmp_path / f"out{suffix}"
    rendered, used, _ = render_summary(probe(src), CUTS, out, render="copy")
    assert used == "copy"
    assert _check(src, out, CUTS, rendered) == _copied_gops(src, CUTS) > 0


@pytest.mark.parametrize("codec", list(OPEN_GOPS))
def test_open_gops_fall_back_to_the_full_encode(tmp_path: Path, codec: str) -> None:
    src = make_source(tmp_path / "in.mp4", gop=25, options=OPEN_GOPS[codec], codec=codec)
    out = tmp_path / "out.mp4"
    rendered, used, why = render_summary(probe(src), CUTS, out, render="auto")
    assert used == "encode" and ("open GOP" in why if codec == "h264" else why == AUTO_HEVC)
    _check(src, out, CUTS, rendered)
    with pytest.raises(InputError, match="open GOP"):
        render_summary(probe(src), CUTS, tmp_path / "copy.mp4", render="copy")
    assert not (tmp_path / "copy.mp4").exists()


def test_hevc_parameter_set_ids_are_rewritten_to_unused_ones(tmp_path: Path) -> None:
    with av.open(str(_template(tmp_path / "t.mp4", "hevc"))) as c:
        hvcc = Hvcc.parse(bytes(c.streams.video[0].codec_context.extradata))
    sets = hvcc.parameter_sets()
    assert [_hevc_ids(u) for u in sets] == [(32, 0), (33, 0), (34, 0)]
    adopted = [hvcc.adopt(u) for u in sets]
    assert [_hevc_ids(u) for u in adopted] == [(32, 1), (33, 15), (34, 15)]
    assert [len(b) - len(a) for a, b in zip(sets, adopted, strict=True)] == [0, 1, 2]
    # a source that already uses SPS id 15 leaves x265's SPS no id with a code of the right length
    taken = Hvcc(hvcc.header, hvcc.length_size, [(33, [adopted[1]]), *hvcc.arrays])
    with pytest.raises(CannotCopy, match="parameter set ids"):
        taken.adopt(sets[1])


def test_a_level_the_encoder_refuses_falls_back(tmp_path: Path, monkeypatch) -> None:
    """An hvcC that claims level 0.5 (none exists): x265 does not open, so auto encodes."""
    parse = Hvcc.parse

    def with_level_half(data: bytes) -> Hvcc:
        record = parse(data)
        record.header = record.header[:12] + bytes([15]) + record.header[13:]
        return record

    monkeypatch.setattr(Hvcc, "parse", with_level_half)
    src = make_source(tmp_path / "in.mp4", **CASES["hevc-2s-gop-no-b-frames"])
    with pytest.raises(InputError, match="libx265 refuses the source's profile or level"):
        render_summary(probe(src), CUTS, tmp_path / "out.mp4", render="copy")
    assert not (tmp_path / "out.mp4").exists()


def test_pieces_encoded_side_by_side_match_pieces_encoded_one_at_a_time(
    tmp_path: Path, monkeypatch
) -> None:
    src = make_source(tmp_path / "in.mp4", **CASES["12-frame-gop-b-pyramid"])
    videos = []
    for workers in (1, smart.PIECE_WORKERS):
        monkeypatch.setattr(smart, "PIECE_WORKERS", workers)
        out = tmp_path / f"out{workers}.mp4"
        rendered, used, _ = render_summary(probe(src), CUTS, out, render="copy")
        assert used == "copy" and _check(src, out, CUTS, rendered) == _copied_gops(src, CUTS)
        videos.append(_video(out))
    assert smart.PIECE_WORKERS > 1 and videos[0] == videos[1]


def test_a_piece_that_fails_on_its_thread_stops_the_copy(tmp_path: Path, monkeypatch) -> None:
    """The error reaches the caller (auto then encodes everything) and no file is left."""

    def refuse(self, kept, packets):
        raise CannotCopy("the decoder returned fewer pictures than the packets hold")

    monkeypatch.setattr(smart.SpanWriter, "_encode", refuse)
    src = make_source(tmp_path / "in.mp4", **CASES["12-frame-gop-b-pyramid"])
    with pytest.raises(InputError, match="fewer pictures"):
        render_summary(probe(src), CUTS, tmp_path / "copy.mp4", render="copy")
    assert not (tmp_path / "copy.mp4").exists()
    out = tmp_path / "auto.mp4"
    rendered, used, why = render_summary(probe(src), CUTS, out, render="auto")
    assert used == "encode" and "fewer pictures" in why
    assert _check(src, out, CUTS, rendered) == 0


def test_auto_encodes_an_hevc_source_whole(tmp_path: Path) -> None:
    """x265 on the pictures next to each cut is slower here than x264 on all of them, so auto
    encodes an HEVC source (and says why); copy still copies it (above)."""
    src = make_source(tmp_path / "in.mp4", **CASES["hevc-2s-gop-no-b-frames"])
    out = tmp_path / "out.mp4"
    rendered, used, why = render_summary(probe(src), CUTS, out, render="auto")
    assert (used, why) == ("encode", AUTO_HEVC)
    assert _check(src, out, CUTS, rendered) == 0  # no picture copied
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"


def test_other_codecs_and_drawn_pictures_are_encoded(tmp_path: Path) -> None:
    from test_media_edge import coded_video

    src = coded_video(tmp_path / "in.ts", gop=50, fmt="mpegts", codec="mpeg2video")
    rendered, used, why = render_summary(probe(src), CUTS, tmp_path / "a.mp4")
    assert used == "encode" and "mpeg2video" in why
    src = make_source(tmp_path / "in.mp4", gop=12)
    rendered, used, why = render_summary(
        probe(src), CUTS, tmp_path / "b.mp4", picture=lambda p, t: p
    )
    assert used == "encode" and "captions" in why


def test_the_cli_records_the_way_it_rendered(capsys, tmp_path: Path) -> None:
    import json

    from test_media_edge import coded_video

    from egvs.cli.main import main
    from egvs.example import make_video

    video = make_video(
        tmp_path / "in.mp4", 16.0, [(0, 10, "calm"), (10, 13, "lively"), (13, 16, "calm")]
    )
    for way in ("auto", "encode"):
        out, report = tmp_path / f"{way}.mp4", tmp_path / f"{way}.json"
        args = [video, "-o", out, "--json", report, "--render", way, "-q"]
        assert main(["summarize", *map(str, args)]) == 0
        used = "copy" if way == "auto" else "encode"
        render = json.loads(report.read_text())["summary"]["render"]
        moved = render.pop("keyframe_edges", None)  # recorded where it copies
        assert render == {"requested": way, "used": used}
        assert (moved is None) == (way == "encode")
    mpeg2 = coded_video(tmp_path / "in.ts", gop=50, fmt="mpegts", codec="mpeg2video")
    out = tmp_path / "copy.mp4"
    assert main(["summarize", str(mpeg2), "-o", str(out), "--render", "copy", "-q"]) == 2
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "error" in line] == [
        f"egvs: error: cannot stream-copy {mpeg2}: smart rendering handles H.264 and HEVC, not "
        "mpeg2video; use --render encode"
    ]
    assert not out.exists()


# Plays a video to its end in a <video> element: how it ended and the frames Chromium decoded.
_PLAY = """async (src) => {
  const v = document.createElement('video');
  v.muted = true;
  v.src = src;
  document.body.appendChild(v);
  const ended = new Promise((done) => {
    v.onended = () => done('ended');
    v.onerror = () => done('error: ' + (v.error && v.error.message));
  });
  v.playbackRate = 4;
  await v.play();
  const result = await ended;
  const quality = v.getVideoPlaybackQuality();
  return {result, frames: quality.totalVideoFrames, corrupted: quality.corruptedVideoFrames};
}"""


def test_chromium_plays_copied_summaries_in_every_container(tmp_path: Path) -> None:
    pytest.importorskip("playwright", reason="browser tests need playwright (the 'test' extra)")
    from browser import CHROMIUM, launch
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}")
    src = make_source(tmp_path / "in.mp4", **CASES["two-sps-pps"])
    outs = [tmp_path / f"out{suffix}" for suffix in (".mp4", ".mov", ".mkv")]
    for out in outs:
        assert render_summary(probe(src), CUTS, out, render="copy")[1] == "copy"
    page_file = tmp_path / "play.html"
    page_file.write_text("<html><body></body></html>")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(page_file.as_uri())
        played = [page.evaluate(_PLAY, out.as_uri()) for out in outs]
        browser.close()
    kept = len(_expected(src, CUTS))
    assert played == [{"result": "ended", "frames": kept, "corrupted": 0}] * 3


def test_keyframes_are_read_from_the_packets(tmp_path: Path) -> None:
    from test_media_edge import coded_video

    info = probe(make_source(tmp_path / "in.mp4", gop=25, options={"bf": "2"}))  # 1 s GOPs
    with smart.Keyframes(info) as keyframes:
        assert keyframes.near([3.2, 10.9, 11.3], 0.5) == [3.0, 11.0]
        assert keyframes.near([3.4], 0.3) == []
    mpeg2 = coded_video(tmp_path / "in.ts", gop=25, fmt="mpegts", codec="mpeg2video")
    with smart.Keyframes(probe(mpeg2)) as keyframes:  # not smart-rendered at all
        assert keyframes.near([3.0], 0.5) == []
        assert not keyframes.one_shot(0.0, 0.5)


def test_summarize_moves_cuts_onto_keyframes_a_step_away(tmp_path: Path) -> None:
    """Smart rendering moves the selection's edges onto nearby keyframes, and says how many;
    a full re-encode keeps the edges the analysis chose."""
    import egvs

    video = make_source(tmp_path / "in.mp4", gop=12, options={"bf": "3"})  # 0.48 s GOPs
    with av.open(str(video)) as inp:
        keys = [float(p.pts * p.time_base) for p in inp.demux(video=0) if p.is_keyframe]
    copied = egvs.summarize(video, tmp_path / "auto.mp4", ratio=0.4, render="auto").analysis
    encoded = egvs.summarize(video, tmp_path / "encode.mp4", ratio=0.4, render="encode").analysis
    assert copied.render is not None and copied.render["used"] == "copy"
    assert encoded.render == {"requested": "encode", "used": "encode"}
    pairs = [
        (a, b)
        for x, y in zip(copied.segments, encoded.segments, strict=True)
        for a, b in ((x.start, y.start), (x.end, y.end))
    ]
    moved = [(a, b) for a, b in pairs if a != b]
    assert copied.render["keyframe_edges"] == len(moved) > 0
    for a, b in moved:
        assert abs(a - b) <= 0.5 and min(abs(a - k) for k in keys) < 1e-3


def test_one_shot_sees_a_cut_between_a_keyframe_and_a_start(tmp_path: Path) -> None:
    """A 4 s video, 1 s GOPs, whose picture cuts from one scene to another at 2.2 s."""
    path = tmp_path / "cut.mp4"
    rng = np.random.default_rng(0)
    scenes = [rng.integers(0, 80, (HEIGHT, WIDTH, 3)), rng.integers(150, 255, (HEIGHT, WIDTH, 3))]
    scenes[1][..., 0] //= 4  # the second scene is also another colour
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        v.codec_context.gop_size = 25
        v.codec_context.options = {"sc_threshold": "0"}  # keyframes every 25 pictures only
        for i in range(100):
            image = scenes[i >= 55] + rng.integers(0, 8, (HEIGHT, WIDTH, 3))
            frame = av.VideoFrame.from_ndarray(image.astype(np.uint8), format="rgb24")
            out.mux(v.encode(frame))
        out.mux(v.encode())
    with smart.Keyframes(probe(path)) as keyframes:
        assert keyframes.near([2.1], 0.5) == [2.0]
        assert keyframes.one_shot(2.0, 2.2)  # pictures 50-54: the first scene
        assert not keyframes.one_shot(2.0, 2.4)  # the cut at picture 55
        assert keyframes.one_shot(3.0, 3.5)
        assert keyframes.one_shot(2.0, 2.2)  # again, after a later seek
