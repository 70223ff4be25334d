"""The trainable model end to end: built from generated videos, trained, used by summarize; and the
issue's learning target on a dataset whose importance is a known function of the emotion source."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import egvs  # noqa: E402
from egvs.datasets.base import AnnotatedVideo  # noqa: E402
from egvs.datasets.splits import kfold_splits  # noqa: E402
from egvs.evaluation.builder import build_dataset  # noqa: E402
from egvs.example import kind_at, make_video  # noqa: E402
from egvs.models.data import video_keys  # noqa: E402
from egvs.models.experiment import Architecture, run_compare, run_train  # noqa: E402
from egvs.models.synthetic import write_synthetic_h5  # noqa: E402
from egvs.models.training import TrainSettings  # noqa: E402
from egvs.scoring.onnx import load_scorer  # noqa: E402

pytestmark = pytest.mark.slow
DURATION, FPS = 8.0, 24


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models gain nothing from threads, and spinning threads crawl on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def lively_parts(i: int) -> list[tuple[float, float, str]]:
    """A lively stretch at a different place in each video."""
    start = 1.0 + 1.5 * (i % 4)
    return [(0.0, start, "calm"), (start, start + 2.0, "lively"), (start + 2.0, DURATION, "calm")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """Four generated videos and made-up TVSum-style annotations (lively = 5, calm = 1-2),
    built into an h5 by the real dataset builder and the real feature pipeline."""
    root = tmp_path_factory.mktemp("built")
    videos_dir = root / "videos"
    videos_dir.mkdir()
    rng = np.random.default_rng(0)
    annotated = []
    for i in range(4):
        parts = lively_parts(i)
        make_video(videos_dir / f"clip_{i}.mp4", DURATION, parts, fps=FPS, size=(160, 90), seed=i)
        times = np.arange(int(DURATION * FPS)) / FPS
        lively = np.array([kind_at(parts, t) == "lively" for t in times])
        scores = np.where(lively[None], 5, rng.integers(1, 3, (3, len(times))))
        annotated.append(
            AnnotatedVideo(name=f"clip_{i}", user_scores=scores.astype(np.float64), fps=FPS)
        )
    h5 = build_dataset("tvsum", annotated, videos_dir, root / "clips.h5")
    assert h5 == ["video_1", "video_2", "video_3", "video_4"]
    return root / "clips.h5", videos_dir


def test_train_on_built_dataset_and_summarize_with_the_model(built, tmp_path) -> None:
    h5, videos_dir = built
    out = tmp_path / "model"
    splits = kfold_splits(video_keys(h5), k=2, seed=0)
    sources = ["visual", "motion", "events", "emotion"]
    result = run_train(
        h5, sources, splits, TrainSettings(epochs=3), Architecture(hidden=32, heads=2), out
    )
    assert len(result["run"]["folds"]) == 2 and (out / "model.onnx").is_file()
    summary = egvs.summarize(
        videos_dir / "clip_1.mp4", tmp_path / "summary.mp4", model=out, ratio=0.3
    )
    analysis = summary.analysis
    assert analysis.scorer == "egvs-model:visual+motion+events+emotion"
    np.testing.assert_allclose(
        analysis.importance, load_scorer(out).score(analysis.timeline), atol=1e-6
    )
    assert summary.output.is_file() and summary.duration > 0


def test_emotion_source_wins_when_importance_follows_it(tmp_path) -> None:
    """The issue's target: visual+emotion beats visual-only by a wide margin, both beat random.

    Visual-only must beat random on every metric; keyshot F1 is the weakest signal there (it is
    dominated by shot lengths, Otani et al. 2019), so its margin over random is only required > 0.
    """
    dims = {"visual": 256, "emotion": 14}
    h5 = write_synthetic_h5(tmp_path / "emotion.h5", n_videos=16, steps=(100, 160), dims=dims)
    splits = kfold_splits(video_keys(h5), k=2, seed=0)
    configs = [["visual"], ["visual", "emotion"]]
    result = run_compare(h5, configs, splits, TrainSettings(epochs=15), Architecture(hidden=64))
    visual, both = (run["summary"] for run in result["runs"])
    random = result["baselines"]["random"]["summary"]
    for metric in ("f1", "tau", "rho", "top15_f1"):
        margin = 0.0 if metric == "f1" else 0.05
        assert visual[metric]["mean"] > random[metric]["mean"] + margin, metric
        assert both[metric]["mean"] > visual[metric]["mean"] + 0.1, metric
