"""The command line: help, version, and every bad input gets one line, a non-zero exit, no output."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from egvs import __version__
from egvs.cli.main import main
from egvs.example import make_video


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(
        tmp_path_factory.mktemp("cli") / "in.mp4",
        16.0,
        [(0, 10, "calm"), (10, 13, "lively"), (13, 16, "calm")],
    )


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_version_and_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "egvs.cli.main", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and __version__ in done.stdout
    for command in ([], ["summarize"], ["analyze"], ["example"], ["setup"]):
        done = subprocess.run(
            [sys.executable, "-m", "egvs.cli.main", *command, "--help"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0 and "usage: egvs" in done.stdout


def test_summarize_and_analyze_work(capsys, video: Path, tmp_path: Path) -> None:
    before = digest(video)
    code, out, err = run(
        capsys, "summarize", video, "-o", tmp_path / "s.mp4", "--json", tmp_path / "s.json", "-q"
    )
    assert code == 0, err
    assert (tmp_path / "s.mp4").stat().st_size > 1000 and (tmp_path / "s.json").exists()
    code, out, err = run(
        capsys,
        "analyze",
        video,
        "--json",
        tmp_path / "a.json",
        "--duration",
        "4",
        "--weights",
        "emotion=1,events=0,visual=0",
    )
    assert code == 0, err
    assert "segments" in out
    assert digest(video) == before  # the input is never modified


def expect_error(capsys, args, fragment: str, outputs: list[Path], *, code: int) -> None:
    """The documented exit ``code``, one error line holding ``fragment``, no ``outputs`` left."""
    got, out, err = run(capsys, *args)
    assert got == code, err
    lines = [line for line in err.strip().splitlines() if line.startswith("egvs: error:")]
    assert len(lines) == 1 and fragment in lines[0], err
    for path in outputs:
        assert not path.exists(), f"{path} left behind"


def test_missing_file(capsys, tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    expect_error(
        capsys, ["summarize", tmp_path / "nope.mp4", "-o", out], "not found", [out], code=2
    )


def test_not_media(capsys, tmp_path: Path) -> None:
    src = tmp_path / "notes.mp4"
    src.write_text("this is not a video\n" * 100)
    out = tmp_path / "o.mp4"
    expect_error(capsys, ["summarize", src, "-o", out], "not a readable media file", [out], code=2)


def test_zero_length(capsys, tmp_path: Path) -> None:
    src = tmp_path / "empty.mp4"
    src.touch()
    out = tmp_path / "o.mp4"
    expect_error(capsys, ["summarize", src, "-o", out], "empty", [out], code=2)


@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_truncated(capsys, video: Path, tmp_path: Path, keep: float) -> None:
    data = video.read_bytes()
    src = tmp_path / "cut.mp4"
    src.write_bytes(data[: int(len(data) * keep)])
    out = tmp_path / "o.mp4"
    code, _, err = run(capsys, "summarize", src, "-o", out)
    assert code != 0 and err.count("egvs: error:") == 1
    assert not out.exists()


def test_corrupt_middle(capsys, tmp_path: Path) -> None:
    src = make_video(tmp_path / "faststart.mp4", 20.0)
    data = bytearray(src.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 20000] = os.urandom(20000)
    src.write_bytes(bytes(data))
    out = tmp_path / "o.mp4"
    code, _, err = run(capsys, "summarize", src, "-o", out)
    # Damaged packets may be concealed by the decoder; either way no traceback and no half file.
    assert "Traceback" not in err
    if code != 0:
        assert err.count("egvs: error:") == 1 and not out.exists()


def test_existing_output_needs_overwrite(capsys, video: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"keep me")
    expect_error(capsys, ["summarize", video, "-o", out], "--overwrite", [], code=3)
    assert out.read_bytes() == b"keep me"


def test_output_equal_to_input(capsys, video: Path) -> None:
    before = digest(video)
    expect_error(
        capsys, ["summarize", video, "-o", video, "--overwrite"], "is the input", [], code=3
    )
    assert digest(video) == before


@pytest.mark.parametrize(
    "command, twice",
    [
        (["summarize"], ["-o", "{a}", "--json", "{a}"]),
        (["summarize"], ["-o", "{a}", "--plot", "{b}", "--timeline", "{b}"]),
        (["analyze"], ["--json", "{a}", "--plot", "{a}"]),
    ],
)
def test_one_path_for_two_outputs(capsys, video: Path, tmp_path: Path, command, twice) -> None:
    a, b = tmp_path / "a.mp4", tmp_path / "b.otio"
    args = [arg.format(a=a, b=b) for arg in twice]
    expect_error(capsys, [*command, video, *args], "two outputs", [a, b], code=3)


def test_unwritable_output(capsys, video: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing-folder" / "o.mp4"
    expect_error(capsys, ["summarize", video, "-o", out], "does not exist", [out], code=3)
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        expect_error(
            capsys,
            ["summarize", video, "-o", locked / "o.mp4"],
            "not writable",
            [locked / "o.mp4"],
            code=3,
        )


def test_too_short(capsys, tmp_path: Path) -> None:
    src = make_video(tmp_path / "short.mp4", 1.5)
    out = tmp_path / "o.mp4"
    expect_error(capsys, ["summarize", src, "-o", out], "at least 2 s", [out], code=2)


def test_budget_longer_than_video_gives_whole_video_with_warning(
    capsys, video: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o.mp4"
    code, _, err = run(capsys, "summarize", video, "-o", out, "--duration", "600")
    assert code == 0
    assert "whole input" in err
    from media_checks import stream_durations

    assert stream_durations(out)["video"] == pytest.approx(16.0, abs=0.1)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--ratio", "0"], "must be > 0"),
        (["--ratio", "2"], "ratio must be in"),
        (["--duration", "-5"], "must be > 0"),
        (["--weights", "loud=1"], "bad weight"),
        (["--weights", "emotion=nan,events=0.3,visual=0.2"], "finite"),
        (["--weights", "emotion=inf"], "finite"),
        (["--duration", "inf"], "finite"),
        (["--ratio", "nan"], "finite"),
    ],
)
def test_bad_options(capsys, video: Path, tmp_path: Path, args, fragment) -> None:
    out = tmp_path / "o.mp4"
    with pytest.raises(SystemExit) as exc:  # argparse exits itself; EGVS's checks return a code
        raise SystemExit(main(["summarize", str(video), "-o", str(out), *args]))
    assert exc.value.code != 0
    assert fragment in capsys.readouterr().err
    assert not out.exists()


def test_usage_errors_exit_1(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["summarize"])  # no input, no -o
    assert exc.value.code == 1
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 1
    assert "usage:" in capsys.readouterr().err


def test_sigterm_stops_like_ctrl_c_and_leaves_no_partial_file(
    capsys, tmp_path: Path, monkeypatch
) -> None:
    import signal
    import time

    from egvs.cache import atomic_write
    from egvs.cli import summarize as summarize_cli

    out = tmp_path / "o.mp4"

    def render_then_get_killed(_args) -> int:
        def write(tmp: Path) -> None:
            tmp.write_bytes(b"half a video")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the signal ends this

        atomic_write(out, write)
        return 0

    monkeypatch.setattr(summarize_cli, "cmd_summarize", render_then_get_killed)
    before = signal.getsignal(signal.SIGTERM)
    code, _out, err = run(capsys, "summarize", tmp_path / "in.mp4", "-o", out)
    assert code == 143 and "terminated" in err
    assert list(tmp_path.iterdir()) == []  # neither the output nor a hidden temp file
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("render, renderer", [("encode", "_render"), ("copy", "_render_copy")])
def test_a_full_output_disk_blames_the_output(
    capsys, video: Path, tmp_path: Path, monkeypatch, render: str, renderer: str
):
    """Either way of rendering: a muxer failing on the output's file is the output's fault."""
    import errno

    import av

    from egvs.render import video as render_video

    def disk_full(_info, _segments, path: Path, *_picture) -> float:
        path.write_bytes(b"partial")
        raise av.error.OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(render_video, renderer, disk_full)
    out = tmp_path / "o.mp4"
    code, _out, err = run(capsys, "summarize", video, "-o", out, "--render", render)
    assert code == 3 and "cannot write" in err and str(out) in err
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_input_is_bad_input(capsys, video: Path, tmp_path: Path, monkeypatch):
    import sys

    probe_module = sys.modules["egvs.media.probe"]  # the package re-exports a function of that name

    def denied(path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(probe_module, "_check_iso_boxes", denied)
    expect_error(
        capsys, ["summarize", video, "-o", tmp_path / "o.mp4"], "permission denied", [], code=2
    )
    assert run(capsys, "summarize", video, "-o", tmp_path / "o.mp4")[0] == 2


def test_warnings_never_share_the_progress_bar_line(capsys) -> None:
    from egvs.progress import logger, progress, set_verbosity

    set_verbosity(0)
    bar = progress(total=10, desc="analysing")
    bar.update(3)
    logger.warning("something odd")
    bar.close()
    err = capsys.readouterr().err
    lines = [line for line in err.replace("\r", "\n").split("\n") if "something odd" in line]
    assert lines and lines[0].startswith("egvs: WARNING"), repr(err)


def test_library_errors_read_without_ffmpeg_numbers() -> None:
    import errno

    import av

    from egvs.errors import reason

    bad = av.error.InvalidDataError(1094995529, "Invalid data found when processing input", "f")
    assert reason(bad) == "Invalid data found when processing input"
    assert reason(av.error.OSError(errno.ENOSPC, "No space left on device", "x")) == (
        "No space left on device"
    )
    assert reason(ValueError("")) == "ValueError"


def test_a_file_name_starting_with_a_dash_gets_a_hint(capsys, video: Path, tmp_path, monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copy(video, tmp_path / "-dash.mp4")
    with pytest.raises(SystemExit) as exc:
        main(["summarize", "-dash.mp4", "-o", "o.mp4"])
    assert exc.value.code == 1
    assert "after '--'" in capsys.readouterr().err
    assert main(["summarize", "-q", "-o", "o.mp4", "--", "-dash.mp4"]) == 0
    assert (tmp_path / "o.mp4").exists()


def test_audio_with_cover_art_is_audio(capsys, tmp_path: Path) -> None:
    """An m4a whose cover art is a one-frame 'video' stream (attached picture) is audio only."""
    import json

    import av

    src = tmp_path / "song.m4a"
    with av.open(str(src), "w", format="mp4") as out:
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        cover = out.add_stream("mjpeg", rate=1)
        cover.width = cover.height = 64
        cover.pix_fmt = "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        image = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        image = image.reformat(format="yuvj420p")
        image.pts = 0
        for packet in [*cover.encode(image), *cover.encode(None)]:
            out.mux(packet)
        t = np.arange(16000 * 8) / 16000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t) * (t > 4)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for packet in [*audio.encode(frame), *audio.encode(None)]:
            out.mux(packet)
    out_mp4, js = tmp_path / "s.mp4", tmp_path / "s.json"
    code, _o, err = run(capsys, "summarize", src, "-o", out_mp4, "--json", js, "-q")
    assert code == 0, err
    doc = json.loads(js.read_text())
    assert doc["input"]["has_video"] is False and doc["input"]["fps"] == 0
    with av.open(str(out_mp4)) as result:
        assert not result.streams.video and result.streams.audio


@pytest.mark.parametrize("args", [["--ratio", "1e-9"], ["--duration", "0.01"]])
def test_a_budget_too_short_to_hold_anything_becomes_half_a_second(
    capsys, video: Path, tmp_path: Path, args
) -> None:
    from media_checks import stream_durations

    out = tmp_path / "o.mp4"
    code, _o, err = run(capsys, "summarize", video, "-o", out, *args)
    assert code == 0 and "holds nothing" in err
    assert stream_durations(out)["video"] == pytest.approx(0.5, abs=0.1)


def test_the_output_extension_picks_the_container(capsys, video: Path, tmp_path: Path) -> None:
    import av

    out = tmp_path / "s.mkv"
    assert run(capsys, "summarize", video, "-o", out, "-q")[0] == 0
    with av.open(str(out)) as result:
        assert "matroska" in result.format.name and result.streams.video
    for name in ("s.webm", "s.avi", "s"):
        expect_error(
            capsys, ["summarize", video, "-o", tmp_path / name], "cannot write a", [], code=3
        )
        assert not (tmp_path / name).exists()


@pytest.mark.parametrize("start, end", [("5", "2"), ("3", "3")])
def test_transcribe_span_that_ends_before_it_starts_is_a_usage_error(
    capsys, tmp_path: Path, start: str, end: str
) -> None:
    """Exit 1 before the input is opened (a missing input would say 'not found', exit 2)."""
    args = ["transcribe", tmp_path / "missing.mp4", "--start", start, "--end", end]
    expect_error(capsys, args, "--end", [], code=1)


def test_batch_without_any_input_is_a_usage_error(capsys, tmp_path: Path) -> None:
    out = tmp_path / "out"
    expect_error(capsys, ["batch", "-o", out], "INPUT", [out], code=1)


def test_a_head_in_egvs_ser_head_that_cannot_load_exits_4(
    capsys, video: Path, tmp_path: Path, monkeypatch
) -> None:
    """The user named this head: no silent fall back to the prosody model (it exited 0)."""
    head = tmp_path / "ser_head.npz"
    head.write_bytes(b"not a head")
    monkeypatch.setenv("EGVS_SER_HEAD", str(head))
    out = tmp_path / "a.json"
    expect_error(capsys, ["analyze", video, "--json", out, "--no-cache"], str(head), [out], code=4)


def test_without_the_optional_model_packages_the_prosody_model_is_used(monkeypatch) -> None:
    import egvs.ser
    from egvs.api import default_emotion_model
    from egvs.errors import SetupError

    def missing() -> None:
        raise SetupError("ctranslate2 is not installed")

    monkeypatch.delenv("EGVS_SER_HEAD", raising=False)
    monkeypatch.setattr(egvs.ser, "default_model", missing)
    assert default_emotion_model().name == "prosody+yamnet"


def test_sigterm_while_a_package_is_half_imported_stops_cleanly(tmp_path: Path) -> None:
    """SIGTERM during ``import ctranslate2`` arrived while asyncio was half imported; the way out
    imported tqdm (which imports asyncio) and died with a NameError traceback, exit 1. Nothing on
    the way out may import anything."""
    import subprocess
    import sys

    script = tmp_path / "half_import.py"
    script.write_text(
        "import importlib.abc, os, signal, sys\n"
        "from egvs.cli import main as cli, summarize\n"
        "class TermInside(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'asyncio.base_events':\n"
        "            os.kill(os.getpid(), signal.SIGTERM)\n"
        "def load_a_package(_args):\n"
        "    sys.meta_path.insert(0, TermInside())\n"
        "    import asyncio  # noqa: F401\n"
        "summarize.cmd_example = load_a_package\n"
        "sys.exit(cli.main(['example', 'never.mp4']))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert (done.returncode, done.stderr) == (143, "egvs: terminated\n")


def test_summarize_captions_of_a_video_without_sound_are_skipped(capsys, tmp_path: Path) -> None:
    silent = make_video(tmp_path / "silent.mp4", 6.0, audio=False)
    out = tmp_path / "o.mp4"
    code, _out, err = run(capsys, "summarize", silent, "-o", out, "--captions", "--duration", "2")
    assert code == 0 and "no sound: no captions" in err and out.exists()


def test_summarize_bad_caption_language_fails_before_the_analysis(
    capsys, video: Path, tmp_path: Path, monkeypatch
) -> None:
    import egvs.api

    monkeypatch.setattr(egvs.api, "analyze", lambda *a, **k: pytest.fail("analysed first"))
    out = tmp_path / "o.mp4"
    args = ["summarize", video, "-o", out, "--captions", "--lang", "xx"]
    expect_error(capsys, args, "unknown language 'xx'", [out], code=1)


def test_an_output_that_is_a_folder_does_not_suggest_overwrite(capsys, tmp_path: Path) -> None:
    """--overwrite cannot replace a folder, so the message must not suggest it."""
    folder = tmp_path / "captions"
    folder.mkdir()
    expect_error(
        capsys, ["transcribe", tmp_path / "in.mp4", "--srt", folder], "is a folder", [], code=3
    )
    code, _out, err = run(capsys, "transcribe", tmp_path / "in.mp4", "--srt", folder)
    assert code == 3 and "--overwrite" not in err


def test_a_sigterm_raised_where_python_ignores_exceptions_still_stops_the_run(
    capsys, tmp_path: Path, monkeypatch
) -> None:
    """A signal's exception raised inside a finalizer (or a C callback) is ignored by Python: the
    run went on to the end and exited 0 with every output written. It stops at the next
    progress update instead."""
    import signal

    from egvs.atomic import atomic_write
    from egvs.cli import summarize as summarize_cli
    from egvs.progress import progress

    out = tmp_path / "o.mp4"

    class TermWhenFreed:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler raises here, inside __del__

    def render(_args) -> int:
        TermWhenFreed()  # freed at once

        def write(tmp: Path) -> None:
            tmp.write_bytes(b"half a video")
            bar = progress(total=3, desc="rendering")
            for _ in range(3):
                bar.update(1)
            bar.close()

        atomic_write(out, write)
        return 0

    monkeypatch.setattr(summarize_cli, "cmd_summarize", render)
    code, _out, err = run(capsys, "summarize", tmp_path / "in.mp4", "-o", out)
    assert code == 143 and "egvs: terminated" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [["summarize"], ["analyze"], ["shorts"], ["batch"], ["train"], ["eval", "scores"]],
)
def test_help_names_the_domain_defaults(capsys, command: list[str]) -> None:
    """Help texts' defaults are filled in from the constants the code runs with."""
    from egvs.cli.options import domain_defaults

    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert done.value.code == 0 and not re.search(r"\{[a-z]+\}", text)  # no placeholder left
    defaults = domain_defaults()
    named = {
        "summarize": ["ratio", "weights"],
        "analyze": ["ratio", "weights"],
        "shorts": ["count", "length", "aspect", "weights"],
        "batch": ["ratio", "count", "length"],
        "train": ["fusions"],
        "eval": ["trials"],
    }[command[0]]
    for key in named:
        assert (
            f"default {defaults[key]}" in text
            or f"({defaults[key]})" in text
            or (defaults[key] in text)
        ), key
