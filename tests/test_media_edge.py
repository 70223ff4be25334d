"""Media edge cases: MPEG-TS seeking, rotated (phone) video, killed runs' leftovers, file modes.

The test videos code their frame index in the picture (a row of black/white blocks) and flash
with a beep, so every rendered frame can be traced back to its source frame and picture checked
against sound.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import cv2
import numpy as np
import pytest
from conftest import shared_path
from media_checks import stream_durations

from egvs.atomic import STALE_SECONDS, atomic_write
from egvs.example import make_video
from egvs.export.timeline import write_timeline
from egvs.media.decode import VideoSample, stream_media
from egvs.media.probe import probe
from egvs.render.video import render_segments
from egvs.segments import Segment
from egvs.timeline import TimeGrid

FPS, SR = 25, 48000
WIDTH, HEIGHT, BITS, BLOCK = 160, 96, 10, 16


def _flashing(t: np.ndarray) -> np.ndarray:
    """Flash and beep together from 0.4 s to 0.6 s of every second."""
    return ((t % 1.0) >= 0.4) & ((t % 1.0) < 0.6)


def picture(index: int) -> np.ndarray:
    """Frame ``index`` as stored: its number in binary blocks on top, the flash below."""
    img = np.zeros((HEIGHT, WIDTH), np.uint8)
    for bit in range(BITS):
        if index >> bit & 1:
            img[: HEIGHT // 3, bit * BLOCK : (bit + 1) * BLOCK] = 255
    if _flashing(np.array(index / FPS)):
        img[HEIGHT // 2 :] = 255
    return img


def frame_index(gray: np.ndarray) -> int:
    """The number `picture` coded into an (upright, unrotated) decoded frame."""
    band = gray[4 : HEIGHT // 3 - 4]
    return sum(
        1 << bit
        for bit in range(BITS)
        if band[:, bit * BLOCK + 4 : (bit + 1) * BLOCK - 4].mean() > 128
    )


def coded_video(
    path: Path,
    *,
    gop: int,
    duration: float = 24.0,
    rotation: int = 0,
    fmt: str | None = None,
    codec: str = "libx264",
) -> Path:
    """Video with a keyframe every ``gop`` frames + AAC; ``rotation`` goes into the display matrix."""
    sound = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(int(duration * SR)) / SR)
    sound = (sound * _flashing(np.arange(len(sound)) / SR)).astype(np.float32)
    with av.open(str(path), "w", format=fmt) as out:
        v = out.add_stream(codec, rate=FPS)
        v.width, v.height, v.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        v.gop_size, v.bit_rate = gop, 2_000_000
        if codec == "libx264":
            v.options = {"preset": "ultrafast", "crf": "18", "sc_threshold": "0"}
        if rotation:
            v.set_display_rotation(rotation)
        a = out.add_stream("aac", rate=SR)
        a.layout = "mono"
        done = 0
        for i in range(int(duration * FPS)):
            frame = av.VideoFrame.from_ndarray(np.repeat(picture(i)[..., None], 3, 2), "rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(v.encode(frame))
            while done < min(len(sound), (i + 1) * SR // FPS):  # interleaved, as a camera writes
                block = av.AudioFrame.from_ndarray(sound[None, done : done + 1024], "fltp", "mono")
                block.sample_rate, block.pts, block.time_base = SR, done, Fraction(1, SR)
                out.mux(a.encode(block))
                done += 1024
        out.mux(v.encode())
        out.mux(a.encode())
    return path


def first_video_time(path: Path) -> float:
    """When the first picture shows, from the file's start (AAC priming shifts it in MPEG-TS)."""
    with av.open(str(path)) as c:
        origin = c.start_time / av.time_base if c.start_time else 0.0
        return float(next(c.decode(video=0)).time) - origin


def decoded(path: Path) -> list[tuple[float, np.ndarray]]:
    """(time, grey picture as displayed) of every frame of ``path``."""
    with av.open(str(path)) as c:
        return [
            (float(f.time), np.rot90(f.to_ndarray(format="gray"), f.rotation // 90))
            for f in c.decode(video=0)
        ]


def onsets(times: np.ndarray, on: np.ndarray) -> np.ndarray:
    """The times where ``on`` switches on."""
    return times[1:][on[1:] & ~on[:-1]]


# Starts off the frame grid by a third of a frame or more, so "the nearest frame" has one answer.
SEGMENTS = [Segment(3.31, 5.31), Segment(11.13, 13.03), Segment(17.52, 20.02)]


@pytest.mark.parametrize(
    ("gop", "remux", "codec"),
    [
        (250, True, "libx264"),
        (50, True, "libx264"),
        (50, False, "libx264"),
        (50, False, "mpeg2video"),
    ],
    ids=["h264-250-frame-gop", "h264-2s-gop", "h264-2s-gop-pyav-muxed", "mpeg2-2s-gop"],
)
def test_mpeg_ts_renders_exact_frames_in_sync(
    tmp_path: Path, gop: int, remux: bool, codec: str
) -> None:
    """MPEG-TS has no index: seeks land between keyframes, which used to lose or freeze video."""
    if remux:  # exactly the report: an mp4 copied into MPEG-TS by the ffmpeg CLI
        if shutil.which("ffmpeg") is None:
            pytest.skip("needs the ffmpeg CLI")
        mp4 = coded_video(tmp_path / "base.mp4", gop=gop)
        src = tmp_path / "in.ts"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-i", mp4, "-c", "copy", "-f", "mpegts", src], check=True
        )
    else:
        src = coded_video(tmp_path / "in.ts", gop=gop, fmt="mpegts", codec=codec)
    out = tmp_path / "out.mp4"
    info = probe(src)
    rendered = render_segments(info, SEGMENTS, out)

    durations = stream_durations(out)
    assert durations["video"] == pytest.approx(rendered, abs=0.05)
    assert durations["audio"] == pytest.approx(durations["video"], abs=0.05)
    frames = decoded(out)
    offset = first_video_time(src)
    expected = [
        round((seg.start - offset) * FPS) + k
        for seg in SEGMENTS
        for k in range(round(seg.duration * FPS))
    ]
    assert [frame_index(g) for _, g in frames] == expected

    times = np.array([t for t, _ in frames])
    flashes = onsets(times, np.array([g[HEIGHT // 2 :].mean() > 128 for _, g in frames]))
    with av.open(str(out)) as c:
        chunks = [(float(f.time), f.to_ndarray().reshape(-1)) for f in c.decode(audio=0)]
    sound = np.concatenate([x for _, x in chunks])
    beeps = onsets(chunks[0][0] + np.arange(len(sound)) / SR, np.abs(sound) > 0.1)
    assert len(flashes) >= 5
    for t in flashes:
        assert np.abs(beeps - t).min() <= 0.045, (t, beeps)  # within about a frame


def test_a_real_video_copied_into_mpeg_ts_renders_like_the_mp4(tmp_path: Path) -> None:
    """The report's case on a real 720p clip: ffmpeg -c copy into MPEG-TS, same bitstream."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg CLI")
    mp4 = shared_path("videos", "auto_editor_example.mp4")
    ts = tmp_path / "in.ts"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", mp4, "-c", "copy", "-f", "mpegts", ts], check=True
    )
    pictures = []
    for src in (mp4, ts):
        offset = first_video_time(src)  # the same pictures, whatever the container's start
        out = tmp_path / f"{src.suffix[1:]}.mp4"
        render_segments(
            probe(src), [Segment(t + offset, t + offset + 1.5) for t in (12.5, 21.0)], out
        )
        durations = stream_durations(out)
        assert durations["video"] == pytest.approx(3.0, abs=0.04)
        assert durations["audio"] == pytest.approx(durations["video"], abs=0.05)
        pictures.append([g for _, g in decoded(out)])
    assert len(pictures[0]) == len(pictures[1]) == 90
    # The same decoded pictures through the same encoder: identical (a frame late or frozen
    # near the cut differs).
    diff = max(np.abs(a.astype(np.int16) - b).mean() for a, b in zip(*pictures, strict=True))
    assert diff < 0.01


@pytest.fixture(scope="module", params=[90, 180, 270])
def rotated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, Path]:
    """A phone-style video: landscape pixels and a display matrix turning them by 90/180/270."""
    path = tmp_path_factory.mktemp("rotated") / f"phone-{request.param}.mp4"
    return request.param, coded_video(path, gop=50, duration=4.0, rotation=request.param)


def test_probe_reports_the_displayed_size(rotated) -> None:
    rotation, path = rotated
    info = probe(path)
    assert info.rotation == rotation
    portrait = rotation in (90, 270)
    assert (info.width, info.height) == ((HEIGHT, WIDTH) if portrait else (WIDTH, HEIGHT))
    assert info.to_dict()["rotation"] == rotation


def test_analysis_frames_are_upright(rotated) -> None:
    rotation, path = rotated
    info = probe(path)
    samples = [
        s for s in stream_media(info, TimeGrid(0.5, 8), audio=False) if isinstance(s, VideoSample)
    ]
    assert len(samples) == 8
    for sample in samples:
        shown = np.rot90(picture(round(sample.time * FPS)), rotation // 90)
        expected = cv2.resize(shown, (224, 224), interpolation=cv2.INTER_AREA)
        assert np.abs(sample.image.mean(axis=2) - expected).mean() < 12
        assert sample.gray.shape[1] == 160
        assert (sample.gray.shape[0] > 160) == (rotation in (90, 270))


def test_rendered_summary_displays_upright(rotated, tmp_path: Path) -> None:
    rotation, path = rotated
    out = tmp_path / "out.mp4"
    render_segments(probe(path), [Segment(1.01, 2.01)], out)
    frames = decoded(out)
    assert len(frames) == FPS
    for k, (_, gray) in enumerate(frames):
        shown = np.rot90(picture(25 + k), rotation // 90)
        assert gray.shape == shown.shape
        assert np.abs(gray.astype(int) - shown).mean() < 12


def _dead_pid() -> int:
    """The pid of a process that has just ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_runs_temp_file_is_removed_on_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "s.mp4"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from egvs.atomic import atomic_write; "
            "atomic_write(Path(sys.argv[1]), lambda tmp: (tmp.write_bytes(b'x' * 4096), "
            "time.sleep(60)))",
            str(out),
        ]
    )
    deadline = time.monotonic() + 30
    while not any(p.stat().st_size == 4096 for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline and writer.poll() is None
        time.sleep(0.05)
    writer.kill()  # SIGKILL: no chance to clean up
    writer.wait()
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(f".s.mp4.{writer.pid}.") and left.stat().st_size == 4096

    dead, alive = _dead_pid(), os.getpid()
    keep = {
        "notes.txt": 0,
        "s.mp4.bak": 0,
        f".other.mp4.{dead}.0123abcd.mp4": 0,  # another output's leftover
        f".s.mp4.{alive}.89abcdef.mp4": 0,  # a concurrent run writing the same output
        ".s-k3j2h1g0.mp4": 0,  # not a name EGVS gives its temporary files
    }
    gone = {
        f".s.mp4.{dead}.00112233.mp4": 0,
        f".s.mp4.{alive}.44556677.mp4": STALE_SECONDS + 60,  # untouched: its pid was reused
    }
    for name, age in {**keep, **gone}.items():
        (tmp_path / name).write_bytes(b"partial")
        os.utime(tmp_path / name, (time.time() - age, time.time() - age))

    src = make_video(tmp_path / "in.mp4", 3.0)
    render_segments(probe(src), [Segment(0.5, 1.5)], out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, "in.mp4", "s.mp4"])
    assert all((tmp_path / name).read_bytes() == b"partial" for name in keep)


@pytest.fixture
def umask_027() -> Iterator[int]:
    """Run under umask 027; yields the mode new files then get."""
    old = os.umask(0o027)
    yield 0o640
    os.umask(old)


def test_outputs_get_the_umask_mode(tmp_path: Path, umask_027: int) -> None:
    """Outputs get the mode a plain open() would give, not 0600 nor a fixed 0644."""
    media = SimpleNamespace(
        path=tmp_path / "in.mp4",
        duration=20.0,
        fps=25.0,
        has_video=True,
        has_audio=True,
        width=160,
        height=96,
    )
    written = [
        write_timeline([Segment(1.0, 3.0)], media, tmp_path / "t.edl"),
        write_timeline([Segment(1.0, 3.0)], media, tmp_path / "t.otio"),
    ]
    atomic_write(tmp_path / "a.json", lambda tmp: tmp.write_text("{}"))
    written.append(tmp_path / "a.json")
    assert {p.stat().st_mode & 0o777 for p in written} == {umask_027}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "t.edl", "t.otio"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    out.write_text("old")

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        atomic_write(out, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"] and out.read_text() == "old"


def _flv_with_late_video(path: Path, delay_frames: int = 2, seconds: float = 3.0) -> Path:
    """An FLV whose picture starts ``delay_frames`` after its sound, as CREMA-D's do (27 ms):
    FFmpeg refuses a seek before the first video packet there (EPERM)."""
    rate, fps = 44100, 30
    with av.open(str(path), "w", format="flv") as out:
        video = out.add_stream("flv", rate=fps)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        audio = out.add_stream("aac", rate=rate)
        audio.layout = "mono"
        t = np.arange(int(seconds * rate)) / rate
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for i in range(0, len(tone) - 1024, 1024):
            frame = av.AudioFrame.from_ndarray(
                tone[None, i : i + 1024], format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = rate, i
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
        for i in range(int(seconds * fps) - delay_frames):
            image = np.full((120, 160, 3), (i * 7) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i + delay_frames
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


def test_an_flv_whose_picture_starts_late_renders_from_its_start(tmp_path: Path) -> None:
    """Summaries starting at 0 s failed with 'rendering failed ... Operation not permitted'."""
    src = _flv_with_late_video(tmp_path / "late.flv")
    info = probe(src)
    assert info.has_video and info.has_audio
    out = tmp_path / "o.mp4"
    render_segments(info, [Segment(0.0, 1.0), Segment(1.5, 2.5)], out)
    durations = stream_durations(out)
    assert durations["video"] == pytest.approx(2.0, abs=0.05)
    assert durations["audio"] == pytest.approx(2.0, abs=0.05)


def test_the_crema_d_flv_renders_from_its_start(tmp_path: Path) -> None:
    """VP6F and MP3 plus a data stream, the picture 27 ms after the sound."""
    src = shared_path("videos", "crema_d", "1001_DFA_ANG_XX.flv")
    out = tmp_path / "o.mp4"
    render_segments(probe(src), [Segment(0.0, 0.5)], out)
    assert stream_durations(out)["video"] == pytest.approx(0.5, abs=0.05)
