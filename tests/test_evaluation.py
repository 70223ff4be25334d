"""The evaluation core, to the digit: hand-computed cases, scipy cross-checks, real TVSum/SumMe."""

from __future__ import annotations

import time

import h5py
import numpy as np
import pytest
from conftest import shared_path
from scipy import stats

from egvs.datasets import f1_aggregate, load_annotations
from egvs.evaluation import (
    EvalVideo,
    baseline_rows,
    evaluate_h5_predictions,
    evaluate_video,
    f1_score,
    from_annotations,
    highlight_f1,
    human_video,
    keyshot_f1,
    keyshot_summary,
    mean_rows,
    random_video,
    rank_correlation,
    shot_scores,
    split_summary,
    top_fraction,
    uniform_shots,
    upsample,
)
from egvs.evaluation.summary import shots_from_steps, step_picks


def test_f1_by_hand() -> None:
    machine = np.array([1, 1, 0, 0, 1, 0], bool)
    refs = np.array([[1, 0, 0, 1, 1, 1], [0, 0, 1, 0, 0, 0]], bool)
    # overlap 2, precision 2/3, recall 2/4 -> F1 = 4/7; no overlap -> 0
    np.testing.assert_allclose(f1_score(machine, refs), [4 / 7, 0.0])
    assert keyshot_f1(machine, refs, "mean") == pytest.approx(2 / 7)
    assert keyshot_f1(machine, refs, "max") == pytest.approx(4 / 7)
    with pytest.raises(ValueError):
        keyshot_f1(machine, refs, "median")


def test_keyshot_summary_uses_shot_means_and_the_15_percent_knapsack() -> None:
    cps = np.array([[0, 1], [2, 4], [5, 5], [6, 19]])
    frames = np.zeros(20)
    frames[0:2], frames[2:5], frames[5], frames[6:] = 0.9, 0.5, 0.6, 0.1
    np.testing.assert_allclose(shot_scores(frames, cps), [0.9, 0.5, 0.6, 0.1])
    # capacity floor(20 * 0.15) = 3 frames: shots 0 + 2 (value 1.5) beat shot 1 (0.5)
    assert np.flatnonzero(keyshot_summary(frames, cps)).tolist() == [0, 1, 5]


def test_rank_correlation_by_hand_and_against_scipy() -> None:
    tau, rho = rank_correlation(np.array([1, 2, 3, 4]), np.array([[1, 3, 2, 4]]))
    assert tau[0] == pytest.approx(2 / 3)  # 5 concordant, 1 discordant pair
    assert rho[0] == pytest.approx(0.8)  # 1 - 6 * 2 / (4 * 15)
    tau, _ = rank_correlation(np.array([1, 1, 2, 3]), np.array([[1, 2, 2, 3]]))
    assert tau[0] == pytest.approx(4 / 5)  # tau-b: 4 / sqrt((6 - 1) * (6 - 1))

    rng = np.random.default_rng(3)
    refs = rng.integers(1, 6, size=(4, 300)).astype(float)
    for pred in (
        rng.integers(0, 7, 300).astype(float),
        rng.random(300),
        np.repeat(rng.random(30), 10),
    ):
        tau, rho = rank_correlation(pred, refs)
        np.testing.assert_allclose(
            tau, [stats.kendalltau(pred, r).statistic for r in refs], atol=1e-12
        )
        np.testing.assert_allclose(
            rho, [stats.spearmanr(pred, r).statistic for r in refs], atol=1e-12
        )
    tau, rho = rank_correlation(np.ones(300), refs)  # a constant prediction has no ranking
    assert np.isnan(tau).all() and np.isnan(rho).all()


def test_rank_correlation_falls_back_to_scipy_for_two_continuous_series() -> None:
    rng = np.random.default_rng(0)
    pred, refs = rng.random(5000), rng.random((1, 5000))
    tau, rho = rank_correlation(pred, refs)
    assert tau[0] == pytest.approx(stats.kendalltau(pred, refs[0]).statistic, abs=1e-12)
    assert rho[0] == pytest.approx(stats.spearmanr(pred, refs[0]).statistic, abs=1e-12)


def test_top_fraction_and_highlight_f1() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8])
    assert np.flatnonzero(top_fraction(scores)).tolist() == [1, 3]  # ceil(0.15 * 10) = 2
    tied = np.array([5, 5, 5, 1, 1, 1, 1, 1, 1, 1])
    assert top_fraction(tied).sum() == 3  # ties at the threshold are all in
    human = np.array([0, 9, 0, 0, 0, 0, 0, 0, 8, 0])
    assert highlight_f1(scores, human) == pytest.approx(0.5)  # {1, 3} vs {1, 8}


def test_frame_axis_helpers() -> None:
    assert upsample(np.array([1, 2, 3]), np.array([0, 3, 5]), 7).tolist() == [1, 1, 1, 2, 2, 3, 3]
    assert uniform_shots(130, 30.0).tolist() == [[0, 59], [60, 119], [120, 129]]
    assert step_picks(100, 30.0).tolist() == [0, 15, 30, 45, 60, 75, 90]
    picks = np.array([0, 15, 30, 45])
    assert shots_from_steps([(0, 2), (2, 4)], picks, 50).tolist() == [[0, 29], [30, 49]]


def _tiny_video(aggregate: str = "mean") -> EvalVideo:
    summary = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 1]], bool)
    return EvalVideo(
        key="video_1",
        name="tiny",
        change_points=np.array([[0, 0], [1, 1], [2, 2], [3, 3]]),
        picks=np.array([0, 2]),
        user_summary=summary,
        user_scores=summary.astype(float),
        aggregate=aggregate,
    )


def test_human_leave_one_out_by_hand() -> None:
    row = human_video(_tiny_video("max"))
    # user 0 vs {1, 2}: F1 2/3 and 0; user 1 vs {0, 2}: 2/3 and 0; user 2 vs {0, 1}: 0 and 0
    assert row["f1_mean"] == pytest.approx(2 / 9)
    assert row["f1_max"] == pytest.approx(4 / 9)
    assert row["f1"] == row["f1_max"]


def test_evaluate_video_and_split_summary() -> None:
    video = _tiny_video()
    # capacity floor(4 * 0.15) = 0 frames: nothing fits, so every F1 is 0
    row = evaluate_video(np.array([0.9, 0.8, 0.1, 0.0]), video)
    assert row["f1"] == 0.0 and row["f1_max"] == 0.0
    assert set(row) == {"f1", "f1_mean", "f1_max", "tau", "rho", "top15_f1"}
    assert evaluate_video(np.full(4, 0.5), video)["tau"] == 0.0  # constant: ranks nothing
    summary = split_summary([{**row, "tau": 0.2}, {**row, "tau": 0.4}])
    assert summary["tau"] == pytest.approx({"mean": 0.3, "min": 0.2, "max": 0.4})


def test_random_baseline_is_deterministic_per_seed() -> None:
    video = _tiny_video()
    assert random_video(video, 20, seed=1) == random_video(video, 20, seed=1)
    assert random_video(video, 20, seed=1) != random_video(video, 20, seed=2)


def _write_tiny_h5(path, video: EvalVideo) -> None:
    with h5py.File(path, "w") as h5:
        h5.attrs["dataset"] = "tvsum"
        g = h5.create_group(video.key)
        g["change_points"] = video.change_points
        g["picks"] = video.picks
        g["user_summary"] = video.user_summary.astype(np.float32)
        g["user_scores"] = video.user_scores
        g["n_frames"] = video.n_frames
        g["video_name"] = video.name


def test_evaluate_h5_predictions_upsamples_steps(tmp_path) -> None:
    video = _tiny_video()
    _write_tiny_h5(tmp_path / "d.h5", video)
    result = evaluate_h5_predictions(tmp_path / "d.h5", {"video_1": np.array([1.0, 0.0])})
    expected = evaluate_video(np.array([1.0, 1.0, 0.0, 0.0]), video)
    assert result["videos"]["video_1"] == expected
    assert result["mean"] == expected
    assert result["f1_aggregate"] == "mean"
    rows = baseline_rows(tmp_path / "d.h5", ["video_1"], trials=5)
    assert rows["human"] == human_video(video)
    assert set(rows) == {"random", "human"}


@pytest.mark.shared
def test_tvsum_human_rank_correlation_reproduces_otani_et_al() -> None:
    """Human leave-one-out, per frame, mean over annotators then videos: tau 0.177, rho 0.204."""
    path = shared_path("vsumm", "tvsum", "ydata-tvsum50.mat")
    videos = from_annotations(load_annotations("tvsum", path), f1_aggregate("tvsum"))
    start = time.perf_counter()
    row = mean_rows(human_video(v) for v in videos)
    assert round(row["tau"], 3) == 0.177
    assert round(row["rho"], 3) == 0.204
    assert time.perf_counter() - start < 60


@pytest.mark.shared
def test_random_rank_correlation_is_zero_on_tvsum() -> None:
    path = shared_path("vsumm", "tvsum", "ydata-tvsum50.mat")
    videos = from_annotations(load_annotations("tvsum", path)[:5], "mean")
    row = mean_rows(random_video(v, 10, seed=0) for v in videos)
    assert abs(row["tau"]) < 0.01 and abs(row["rho"]) < 0.01
    assert row == mean_rows(random_video(v, 10, seed=0) for v in videos)


def _made_up_tvsum(tmp_path):
    """Three 8 s videos at 10 fps, 4 users each, in the TVSum TSV format (plus an info TSV)."""
    rng = np.random.default_rng(0)
    lines, info = [], ["video_id\tnframes\tlength_sec"]
    for v in range(3):
        base = np.repeat(rng.integers(1, 6, 4), 20)  # 2 s blocks, as in TVSum
        for _ in range(4):
            user = np.clip(base + rng.integers(-1, 2, 80), 1, 5)
            lines.append(f"vid{v}\tVT\t{','.join(map(str, user))}")
        info.append(f"vid{v}\t80\t8.0")
    (tmp_path / "anno.tsv").write_text("\n".join(lines) + "\n")
    (tmp_path / "info.tsv").write_text("\n".join(info) + "\n")
    return tmp_path / "anno.tsv", tmp_path / "info.tsv"


def test_cli_eval_human_and_scores(tmp_path, capsys) -> None:
    import json

    from egvs.cli.main import main

    anno, info = _made_up_tvsum(tmp_path)
    common = ["--dataset", "tvsum", "--annotations", str(anno), "--info", str(info), "--jobs", "1"]
    out = tmp_path / "human.json"
    assert main(["eval", "human", *common, "--trials", "3", "--json", str(out)]) == 0
    assert "uniform 2 s segments" in capsys.readouterr().out
    human = json.loads(out.read_text())
    assert human["schema"] == "egvs.eval/1" and set(human["rows"]) == {"random", "human"}
    again = tmp_path / "again.json"
    main(["eval", "human", *common, "--trials", "3", "--json", str(again)])
    assert json.loads(again.read_text()) == human

    videos = load_annotations("tvsum", anno, info)
    np.savez(tmp_path / "oracle.npz", **{v.name: v.user_scores.mean(axis=0) for v in videos})
    res = tmp_path / "scores.json"
    args = ["eval", "scores", *common, "--trials", "2", "--folds", "3"]
    assert main([*args, "--scores", str(tmp_path / "oracle.npz"), "--json", str(res)]) == 0
    result = json.loads(res.read_text())
    assert len(result["per_split"]["method"]) == 3
    assert result["summary"]["method"]["top15_f1"]["mean"] == pytest.approx(1.0)
    assert result["summary"]["human"]["tau"]["mean"] == pytest.approx(
        mean_rows(result["per_split"]["human"])["tau"]
    )
    np.savez(tmp_path / "none.npz", other=np.zeros(3))
    assert main([*args, "--scores", str(tmp_path / "none.npz")]) == 2  # InputError
    oracle = ["--scores", str(tmp_path / "oracle.npz")]
    assert main([*args[:-2], "--folds", "99", *oracle]) == 1  # more folds than videos: usage


def test_hypothesis_counts_and_exact_circular_shift_test() -> None:
    from egvs.evaluation.hypothesis import VideoActivity, pooled_row, shift_overlaps, video_row

    high = np.array([1, 1, 0, 0, 0, 0], bool)
    active = np.array([1, 0, 0, 0, 1, 0], bool)
    brute = [int((np.roll(active, s) & high).sum()) for s in range(6)]
    assert shift_overlaps(active, high).tolist() == brute
    video = VideoActivity("video_1", "v", high.astype(float), active.astype(float), high, active)
    row = video_row(video)
    assert (row.active_high, row.active_low, row.n_high, row.n_low) == (1, 1, 2, 4)
    assert (row.rate_high, row.rate_low) == (0.5, 0.25)
    assert row.p_value == pytest.approx(np.mean(np.array(brute) >= brute[0]))
    pooled = pooled_row([video, video], permutations=200, seed=0)
    assert (pooled.active_high, pooled.active_low, pooled.n_high) == (2, 2, 4)
    assert pooled == pooled_row([video, video], permutations=200, seed=0)
