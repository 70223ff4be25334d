"""`egvs shorts` end to end: vertical clips of the right size and length, in sync, with a manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import shared_path

import egvs
from egvs import api, pipeline
from egvs.cli.main import main
from egvs.errors import EgvsError
from egvs.example import make_video
from egvs.request import SummaryRequest
from egvs.scoring import FusionScorer, FusionWeights
from egvs.shortform import ShortsOptions, make, shorts
from egvs.shortform.options import DEFAULTS

LIVELY = [(12.0, 16.0), (34.0, 38.0)]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """48 s, calm but for two lively parts (moving shapes, applause-like bursts)."""
    path = tmp_path_factory.mktemp("shorts") / "vlog.mp4"
    parts = [(0.0, 12.0, "calm"), (12.0, 16.0, "lively"), (16.0, 34.0, "calm")]
    parts += [(34.0, 38.0, "lively"), (38.0, 48.0, "calm")]
    return make_video(path, 48.0, parts, size=(640, 360))


def _streams(path: Path) -> dict:
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        frames = sum(1 for _ in c.decode(v))
        c.seek(0)
        samples = sum(f.samples for f in c.decode(a))
        return {
            "size": (v.codec_context.width, v.codec_context.height),
            "codecs": (v.codec_context.name, a.codec_context.name),
            "video_s": frames / float(v.average_rate),
            "audio_s": samples / a.codec_context.sample_rate,
            "frame_s": 1 / float(v.average_rate),
        }


def test_shorts_are_vertical_clips_around_the_lively_parts(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "shorts"
    # The public name, even after the CLI (imported above) loaded the egvs.shortform package.
    result = egvs.shorts(source, out, count=2, length=(8.0, 14.0), captions=False, timeline=True)
    assert [s.rank for s in result.clips] == [1, 2]
    spans = sorted((s.clip.start, s.clip.end) for s in result.clips)
    assert spans[0][1] <= spans[1][0]  # no overlap
    for (start, end), lively in zip(spans, LIVELY, strict=True):
        assert start <= lively[0] and lively[1] <= end  # each holds a whole lively part
    for short in result.clips:
        info = _streams(short.files["video"])
        assert info["size"] == (1080, 1920)
        assert info["codecs"] == ("h264", "aac")
        assert 8.0 - info["frame_s"] <= info["video_s"] <= 14.0 + info["frame_s"]
        assert info["video_s"] == pytest.approx(short.clip.duration, abs=info["frame_s"])
        assert info["audio_s"] == pytest.approx(info["video_s"], abs=info["frame_s"])
        assert short.files["video"].name.startswith(f"{short.rank:02d}-")
        assert short.files["timeline"].exists()
    doc = json.loads((out / "shorts.json").read_text())
    assert doc["schema"] == "egvs.shorts/1"
    assert [c["rank"] for c in doc["clips"]] == [1, 2]
    assert doc["clips"][0]["score"] >= doc["clips"][1]["score"]
    for clip in doc["clips"]:
        assert (out / clip["files"]["video"]).exists()
        assert clip["crop"]["keyframes"]
        assert clip["reasons"]
    # Nothing else is left in the folder (no temporary files).
    names = {p.name for p in out.iterdir()}
    expected = {"shorts.json"} | {Path(f).name for c in doc["clips"] for f in c["files"].values()}
    assert names == expected


def test_shorts_choose_no_montage_and_report_no_budget_warning(
    source: Path, tmp_path: Path, monkeypatch
) -> None:
    """Shorts score the features and choose clips; the summary's shots, knapsack and budget are
    not theirs. Before, `analyze` chose a montage and threw it away, and its budget warnings
    ("the summary is the whole input") landed in shorts.json."""
    montages = []
    plan = api.plan
    monkeypatch.setattr(api, "plan", lambda *args: montages.append(args) or plan(*args))
    weights = FusionWeights(emotion=0.2, events=0.3, visual=0.5)
    request = SummaryRequest.from_options(duration=100.0, weights=weights)  # > the 48 s input
    out = tmp_path / "o"
    result = shorts(source, out, count=1, length=(8.0, 10.0), captions=False, request=request)
    assert montages == []
    doc = json.loads(result.manifest.read_text())
    assert doc["warnings"] == result.warnings == []
    # The request's scorer, recorded beside the options (its budget is not used).
    assert doc["importance"] == {"weights": vars(weights), "scorer": "fusion", "model": None}
    assert result.importance == pytest.approx(FusionScorer(weights).score(result.timeline))
    assert doc["options"] == ShortsOptions(1, (8.0, 10.0), captions=False).to_json()
    assert doc["options"]["timeline"] is False and doc["options"]["language"] == "auto"


def test_shorts_options_are_resolved_once(tmp_path: Path) -> None:
    assert ShortsOptions.from_options() == ShortsOptions() == DEFAULTS
    assert (DEFAULTS.count, DEFAULTS.length_text, DEFAULTS.size) == (5, "15-60", (1080, 1920))
    given = ShortsOptions.from_options(count=3.0, length="20-45", aspect="1:1", language="auto")
    assert given == ShortsOptions(3, (20.0, 45.0), "1:1", language=None)
    assert ShortsOptions.from_options(length=[8, 14], language=" ko ").to_json()["language"] == "ko"
    bad = [
        ({"count": 0}, "count"),
        ({"count": 2.5}, "count"),
        ({"length": "30-10"}, "1 <= MIN <= MAX"),
        ({"length": "abc"}, "MIN-MAX"),
        ({"length": (5.0,)}, r"\(MIN, MAX\)"),
        ({"length": (5.0, float("inf"))}, "1 <= MIN <= MAX"),
        ({"aspect": "3:2"}, "unknown aspect"),
    ]
    for options, message in bad:
        with pytest.raises(EgvsError, match=message):
            ShortsOptions.from_options(**options)
    with pytest.raises(EgvsError, match="count"):
        ShortsOptions(count=0)
    # Options are given once: as an object or one by one, not both (checked before any work).
    with pytest.raises(EgvsError, match="either options or count"):
        shorts(tmp_path / "missing.mp4", tmp_path / "o", options=DEFAULTS, count=2)
    with pytest.raises(EgvsError, match="either request or weights"):
        shorts(
            tmp_path / "missing.mp4", tmp_path / "o", request=SummaryRequest(), weights="visual=1"
        )
    assert not (tmp_path / "o").exists()


def test_the_cli_builds_the_shared_defaults(tmp_path: Path, monkeypatch) -> None:
    built = []

    def stop(path, folder, *, options, **kwargs):
        built.append(options)
        raise EgvsError("stopped")

    monkeypatch.setattr(make, "shorts", stop)
    assert main(["shorts", "-q", "in.mp4", "-o", str(tmp_path / "o")]) == 1
    args = ["--count", "2", "--length", "8-14", "--lang", "ko", "--no-captions", "--fill"]
    assert main(["shorts", "-q", "in.mp4", "-o", str(tmp_path / "o"), *args]) == 1
    assert built == [
        DEFAULTS,
        ShortsOptions(2, (8.0, 14.0), captions=False, language="ko", fill=True),
    ]


def test_shorts_reuse_the_cached_analysis(source: Path, tmp_path: Path, monkeypatch) -> None:
    """`shorts` after `analyze` on the same file does not extract features again."""
    egvs.analyze(source)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the file was decoded for features again")

    monkeypatch.setattr(pipeline, "stream_media", no_decoding)
    shorts(source, tmp_path / "again", count=1, length=(8.0, 10.0), captions=False, aspect="1:1")
    (video,) = (tmp_path / "again").glob("01-*.mp4")
    assert _streams(video)["size"] == (1080, 1080)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--count", "0"], 1, "must be >= 1"),
        (["--length", "30-10"], 1, "1 <= MIN <= MAX"),
        (["--length", "abc"], 1, "MIN-MAX"),
        (["--aspect", "3:2"], 1, "unknown aspect '3:2'"),
    ],
)
def test_bad_options_exit_1(source: Path, tmp_path: Path, capsys, args, code, message) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["shorts", str(source), "-o", str(tmp_path / "o"), *args])
    assert exit_.value.code == code
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_inputs_and_outputs_give_one_line_errors(source: Path, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n" * 50)
    audio = make_video(tmp_path / "voice.m4a", 20.0, video=False)
    cases = [
        (tmp_path / "missing.mp4", tmp_path / "a", 2),
        (empty, tmp_path / "b", 2),
        (notes, tmp_path / "c", 2),
        (audio, tmp_path / "d", 2),  # shorts need a picture
        (source, tmp_path / "nofolder" / "deeper", 3),
        (source, notes, 3),  # the output is a file
    ]
    for inp, out, code in cases:
        assert main(["shorts", "-q", str(inp), "-o", str(out), "--no-captions"]) == code, inp
        err = capsys.readouterr().err.strip()
        assert err.startswith("egvs: error:") and "\n" not in err, err
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())
    # Existing shorts are not replaced without --overwrite.
    made = tmp_path / "made"
    made.mkdir()
    (made / "shorts.json").write_text("{}")
    assert main(["shorts", "-q", str(source), "-o", str(made), "--no-captions"]) == 3
    assert "--overwrite" in capsys.readouterr().err
    assert (made / "shorts.json").read_text() == "{}"


@pytest.mark.slow
def test_real_clip_gets_captions_that_match_its_speech(tmp_path: Path, monkeypatch) -> None:
    """His Girl Friday (6 s, with a human transcript): burned-in and sidecar captions."""
    clip = shared_path("videos", "his_girl_friday_mdn_friday.mp4")
    src = tmp_path / "friday.mp4"
    shutil.copy(clip, src)
    result = shorts(src, tmp_path / "out", count=1, length=(3.0, 6.0), language="en")
    (short,) = result.clips
    srt = short.files["srt"].read_text()
    vtt = short.files["vtt"].read_text()
    assert vtt.startswith("WEBVTT")
    assert "-->" in srt and short.transcript
    reference = clip.with_suffix(".vtt").read_text().lower()
    spoken = [w.strip(".,!?").lower() for w in short.transcript.split()]
    assert sum(w in reference for w in spoken) >= 0.6 * len(spoken)
    # The same short with the painter switched off: the captions are in the bottom third only.
    from egvs.captions import CaptionPainter

    monkeypatch.setattr(CaptionPainter, "paint", lambda self, frame, cue: frame)
    plain = shorts(src, tmp_path / "plain", count=1, length=(3.0, 6.0), language="en")
    assert (plain.clips[0].clip.start, plain.clips[0].clip.end) == (
        short.clip.start,
        short.clip.end,
    )
    with av.open(str(short.files["video"])) as a, av.open(str(plain.clips[0].files["video"])) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
    fa, fb = (f.to_ndarray(format="rgb24").astype(int) for f in pairs[len(pairs) // 2])
    diff = np.abs(fa - fb).sum(axis=2) > 60
    h = diff.shape[0]
    assert diff[2 * h // 3 :].mean() > 0.002
    assert diff[: h // 2].mean() < 0.001


@pytest.mark.slow
def test_summarize_captions_are_burned_into_the_bottom(tmp_path: Path) -> None:
    clip = shared_path("videos", "his_girl_friday_mdn_friday.mp4")
    with_captions = egvs.summarize(clip, tmp_path / "c.mp4", duration=4, captions=True)
    plain = egvs.summarize(clip, tmp_path / "p.mp4", duration=4)
    assert [(s.start, s.end) for s in with_captions.analysis.segments] == [
        (s.start, s.end) for s in plain.analysis.segments
    ]
    with av.open(str(tmp_path / "c.mp4")) as a, av.open(str(tmp_path / "p.mp4")) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
        size = (a.streams.video[0].width, a.streams.video[0].height)
    assert size == (640, 480)  # the source's size: captions do not change the picture's shape
    fa, fb = (f.to_ndarray(format="rgb24").astype(int) for f in pairs[len(pairs) // 2])
    diff = np.abs(fa - fb).sum(axis=2) > 60
    h = diff.shape[0]
    assert diff[2 * h // 3 :].mean() > 0.005
    assert diff[: h // 2].mean() < 0.001


def test_overwrite_replaces_the_earlier_shorts(source: Path, tmp_path: Path) -> None:
    """Another run into the same folder leaves only its own clips, and files it never made."""
    out = tmp_path / "again"
    first = shorts(source, out, count=2, length=(8.0, 14.0), captions=False)
    (out / "notes.txt").write_text("mine")
    second = shorts(source, out, count=1, length=(4.0, 6.0), captions=False, overwrite=True)
    expected = {"shorts.json", "notes.txt"} | {p.name for p in second.clips[0].files.values()}
    assert {p.name for p in out.iterdir()} == expected
    assert len(first.clips) == 2


def test_a_failed_run_leaves_no_clips_behind(source: Path, tmp_path: Path, monkeypatch) -> None:
    """Clips made before a failure (here the second clip's rendering) are removed with it."""
    from egvs.shortform import make

    out = tmp_path / "failed"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    made_one = make._make_one
    calls = []

    def fail_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return made_one(*args, **kwargs)

    monkeypatch.setattr(make, "_make_one", fail_on_second)
    with pytest.raises(KeyboardInterrupt):
        shorts(source, out, count=2, length=(8.0, 14.0), captions=False, timeline=True)
    assert len(calls) == 2
    assert {p.name for p in out.iterdir()} == {"notes.txt"}


@pytest.fixture
def no_analysis(monkeypatch) -> None:
    """Fails a test whose run gets as far as the analysis: its checks must come first."""
    import egvs.api

    def extract(*_args, **_kwargs):
        raise AssertionError("the run analysed the video before checking its options and outputs")

    monkeypatch.setattr(egvs.api, "extract", extract)  # what shorts run (not analyze)


@pytest.mark.parametrize("name", ["01-crying-voice-0-46.mp4", "12-x.srt", "03-hello.vtt"])
def test_a_file_named_like_a_clip_is_not_replaced(
    source: Path, tmp_path: Path, capsys, no_analysis, name: str
) -> None:
    """Without a shorts.json (another tool's file, or a run with --json elsewhere): exit 3
    before any work, the file untouched (it was replaced, exit 0)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_text("mine")
    manifest = tmp_path / "list.json"
    assert main(["shorts", "-q", str(source), "-o", str(out), "--json", str(manifest)]) == 3
    err = capsys.readouterr().err
    assert name in err and "--overwrite" in err
    assert (out / name).read_text() == "mine" and not manifest.exists()


def test_bad_language_and_read_only_folder_fail_before_the_analysis(
    source: Path, tmp_path: Path, capsys, no_analysis, read_only_dir: Path
) -> None:
    assert main(["shorts", "-q", str(source), "-o", str(tmp_path / "o"), "--lang", "xx"]) == 1
    assert "unknown language 'xx'" in capsys.readouterr().err
    for out in (read_only_dir, read_only_dir / "new"):
        assert main(["shorts", "-q", str(source), "-o", str(out)]) == 3
        assert f"{read_only_dir} is not writable" in capsys.readouterr().err


def test_a_video_without_sound_gets_shorts_without_captions(tmp_path: Path, capsys) -> None:
    """Captions are on by default; with no sound there is no voice to caption (it was exit 2
    after the whole analysis)."""
    silent = make_video(
        tmp_path / "silent.mp4", 10.0, [(0, 4, "calm"), (4, 8, "lively")], audio=False
    )
    out = tmp_path / "out"
    assert main(["shorts", str(silent), "-o", str(out), "--count", "1", "--length", "3-6"]) == 0
    assert "no sound" in capsys.readouterr().err
    doc = json.loads((out / "shorts.json").read_text())
    (clip,) = doc["clips"]
    assert set(clip["files"]) == {"video"} and any("no sound" in w for w in doc["warnings"])


def test_quiet_shorts_print_nothing(tmp_path: Path, capsys) -> None:
    """-q: errors only; the 'only 1 clip fit' warning went around it."""
    small = make_video(tmp_path / "small.mp4", 5.0, [(0, 2, "calm"), (2, 5, "lively")])
    out = tmp_path / "out"
    args = ["shorts", "-q", str(small), "-o", str(out), "--count", "3", "--length", "3-5"]
    assert main([*args, "--no-captions", "--aspect", "1:1"]) == 0
    assert capsys.readouterr().err == ""
    assert any("fit" in w for w in json.loads((out / "shorts.json").read_text())["warnings"])


def test_a_span_where_no_one_speaks_is_not_transcribed(monkeypatch) -> None:
    """Whisper is not run on a span where neither the analysis' voice signal nor YAMNet's speech
    rises (`make.SILENT_SPAN`): the clip gets no words and keeps its edges. Either signal alone
    is enough to transcribe, and a timeline without them (a stage that did not run) is."""
    from types import SimpleNamespace

    from egvs.shortform.select import Clip
    from egvs.timeline import TimeGrid, Timeline

    grid = TimeGrid(0.5, 80)  # 40 s
    voiced, speech = np.zeros(80), np.full(80, 0.1)
    voiced[50:54] = 0.9  # someone speaks at 25-27 s
    timeline = Timeline(grid)
    timeline.add_signal("voiced", voiced)
    timeline.add_signal("event.speech", speech)
    assert not make.speaks(timeline, 0.0, 20.0) and make.speaks(timeline, 20.0, 30.0)
    assert make.speaks(Timeline(grid), 0.0, 20.0)

    monkeypatch.setattr(make.spans, "transcript", lambda *a, **k: pytest.fail("transcribed"))
    info = SimpleNamespace(path="video.mp4", duration=40.0)
    clip = Clip(2.0, 17.0, 9.0)
    options = ShortsOptions.from_options(length=(10, 20))
    assert make._speech(info, timeline, clip, options, cache=None) == ([], None)
    assert (clip.start, clip.end) == (2.0, 17.0)

    timeline.add_signal("event.speech", np.where(np.arange(80) == 10, 0.6, 0.1))  # YAMNet: 5 s
    assert make.speaks(timeline, 0.0, 20.0)
