"""`egvs data build`: the eccv16-layout h5 from videos + annotations, with a fake and the real pipeline."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from scipy.io import savemat

from egvs.cli.main import main
from egvs.datasets import load_annotations
from egvs.errors import InputError, OutputError
from egvs.evaluation import baseline_rows, evaluate_h5_predictions
from egvs.evaluation.builder import build_dataset
from egvs.media.probe import MediaInfo
from egvs.timeline import TimeGrid, Timeline

ECCV16 = {
    "features",
    "gtscore",
    "user_summary",
    "change_points",
    "n_frame_per_seg",
    "n_frames",
    "picks",
    "video_name",
}
SOURCES = {"visual": 16, "motion": 6, "audio": 6, "events": 521, "emotion": 14}


def fake_extract(path):
    """A stand-in for egvs.extract: a 12 s, 10 fps video with every source and a few signals."""
    rng = np.random.default_rng(len(path.name))
    info = MediaInfo(path=path, duration=12.0, has_video=True, has_audio=True, fps=10.0)
    timeline = Timeline(TimeGrid.for_duration(12.0))
    for name, dim in SOURCES.items():
        timeline.add_source(name, rng.random((timeline.n_steps, dim)))
    timeline.add_signal("arousal", rng.random(timeline.n_steps))
    timeline.add_signal("event.laughter", rng.random(timeline.n_steps))
    return info, timeline


def made_up_tvsum(tmp_path, names=("clip_a", "clip_b")):
    """TVSum-format TSV + info for 12 s videos at 10 fps (120 frames), 5 users, 2 s score blocks."""
    rng = np.random.default_rng(1)
    rows, info = [], ["video_id\tnframes\tlength_sec"]
    for name in names:
        for _ in range(5):
            scores = np.repeat(rng.integers(1, 6, 6), 20)
            rows.append(f"{name}\tVT\t{','.join(map(str, scores))}")
        info.append(f"{name}\t120\t12.0")
    (tmp_path / "anno.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "info.tsv").write_text("\n".join(info) + "\n")
    return tmp_path / "anno.tsv", tmp_path / "info.tsv"


def test_build_writes_the_eccv16_layout_plus_every_source(tmp_path) -> None:
    anno, info = made_up_tvsum(tmp_path)
    videos_dir = tmp_path / "videos"
    videos_dir.mkdir()
    for name in ("clip_a", "CLIP_B"):
        (videos_dir / f"{name}.mp4").write_bytes(b"")  # the fake extractor never reads them
    videos = load_annotations("tvsum", anno, info)
    out = tmp_path / "tvsum.h5"
    assert build_dataset("tvsum", videos, videos_dir, out, extract=fake_extract) == [
        "video_1",
        "video_2",
    ]
    with h5py.File(out, "r") as h5:
        assert h5.attrs["dataset"] == "tvsum" and h5.attrs["step"] == 0.5
        g = h5["video_1"]
        assert set(g) >= ECCV16 and set(g["sources"]) == set(SOURCES)
        assert g["video_name"][()].decode() == "clip_a"
        assert g["picks"][()].tolist() == list(range(0, 120, 5))  # 0.5 s steps at 10 fps
        assert g["features"].shape == (24, 16) and g["sources/events"].shape == (24, 521)
        np.testing.assert_array_equal(g["features"][()], g["sources/visual"][()])
        cps = g["change_points"][()]
        assert cps[0, 0] == 0 and cps[-1, 1] == 119 and (cps[1:, 0] == cps[:-1, 1] + 1).all()
        assert g["n_frame_per_seg"][()].sum() == g["n_frames"][()] == 120
        summary = g["user_summary"][()]
        assert summary.shape == (5, 120) and (summary.sum(axis=1) <= 18).all()  # 15% of 120
        gt = g["gtscore"][()]
        assert gt.shape == (24,) and gt.min() == 0.0 and gt.max() == 1.0
        np.testing.assert_array_equal(g["user_scores"][()], videos[0].user_scores)
    with pytest.raises(OutputError):
        build_dataset("tvsum", videos, videos_dir, out, extract=fake_extract)

    steps = {"video_1": np.linspace(0, 1, 24), "video_2": np.linspace(1, 0, 24)}
    result = evaluate_h5_predictions(out, steps)
    assert set(result["videos"]) == {"video_1", "video_2"} and result["f1_aggregate"] == "mean"
    assert -1 <= result["mean"]["tau"] <= 1
    rows = baseline_rows(out, ["video_1", "video_2"], trials=3)
    assert set(rows) == {"random", "human"}


def test_build_reports_missing_videos_or_skips_them(tmp_path) -> None:
    anno, info = made_up_tvsum(tmp_path)
    videos_dir = tmp_path / "videos"
    videos_dir.mkdir()
    (videos_dir / "clip_b.webm").write_bytes(b"")
    videos = load_annotations("tvsum", anno, info)
    with pytest.raises(InputError, match="1 of 2 videos not found"):
        build_dataset("tvsum", videos, videos_dir, tmp_path / "x.h5", extract=fake_extract)
    keys = build_dataset(
        "tvsum", videos, videos_dir, tmp_path / "x.h5", extract=fake_extract, skip_missing=True
    )
    assert keys == ["video_2"]  # the dataset position is kept, so split files still apply
    assert (tmp_path / "x.h5").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".x.h5")]  # no temp file


@pytest.mark.slow
def test_cli_build_summe_end_to_end_on_generated_videos(tmp_path) -> None:
    """The real pipeline (egvs.extract) on generated videos with made-up SumMe GT files."""
    from egvs.example import make_video

    videos_dir, gt_dir = tmp_path / "videos", tmp_path / "GT"
    videos_dir.mkdir()
    gt_dir.mkdir()
    rng = np.random.default_rng(0)
    for i, name in enumerate(["Jumps small", "air_drop"]):
        make_video(videos_dir / f"{name}.mp4", 8.0, fps=10, seed=i)
        user_score = np.zeros((80, 3), np.uint8)
        for u in range(3):
            start = rng.integers(0, 68)
            user_score[start : start + 12, u] = u + 1
        savemat(gt_dir / f"{name}.mat", {"user_score": user_score, "FPS": 10.0})
    out = tmp_path / "summe.h5"
    argv = [
        "data",
        "build",
        "summe",
        "--videos",
        str(videos_dir),
        "--annotations",
        str(gt_dir),
        "--out",
        str(out),
        "-q",
    ]
    assert main(argv) == 0
    with h5py.File(out, "r") as h5:
        assert h5.attrs["dataset"] == "summe" and list(h5) == ["video_1", "video_2"]
        g = h5["video_1"]
        assert g["video_name"][()].decode() == "air_drop"  # case-insensitive dataset order
        assert set(g) >= ECCV16 and {"visual", "motion", "audio", "events", "emotion"} <= set(
            g["sources"]
        )
        assert g["features"].shape == (16, 1280) and len(g["picks"]) == 16
        assert g["user_summary"].shape == (3, 80) and g["change_points"][-1, 1] == 79
        assert "arousal" in g["signals"]
    report = tmp_path / "eval.json"
    eval_argv = [
        "eval",
        "human",
        "--dataset",
        "summe",
        "--annotations",
        str(out),
        "--trials",
        "3",
        "--jobs",
        "1",
    ]
    assert main([*eval_argv, "--json", str(report)]) == 0
    assert "change_points of" in json.loads(report.read_text())["shots"]


def test_cli_hypothesis_on_a_built_file(tmp_path) -> None:
    anno, info = made_up_tvsum(tmp_path)
    videos_dir = tmp_path / "videos"
    videos_dir.mkdir()
    for name in ("clip_a", "clip_b"):
        (videos_dir / f"{name}.mp4").write_bytes(b"")
    out = tmp_path / "tvsum.h5"
    build_dataset(
        "tvsum", load_annotations("tvsum", anno, info), videos_dir, out, extract=fake_extract
    )
    plots, report = tmp_path / "plots", tmp_path / "hyp.json"
    argv = ["hypothesis", "--dataset", str(out), "--plot", str(plots), "--json", str(report), "-q"]
    assert main(argv) == 0
    assert sorted(p.name for p in plots.iterdir()) == ["video_1_clip_a.png", "video_2_clip_b.png"]
    data = json.loads(report.read_text())
    per_video = data["videos"].values()
    assert data["pooled"]["active_high"] == sum(v["active_high"] for v in per_video)
    assert all(0 < v["p_value"] <= 1 for v in per_video)
