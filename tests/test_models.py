"""The trainable EGVS model: network, training, ONNX export and the onnxruntime scorer (fast)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from egvs.cli.main import main  # noqa: E402
from egvs.datasets.splits import kfold_splits  # noqa: E402
from egvs.errors import InputError, SetupError  # noqa: E402
from egvs.models import ExportedModel, ModelConfig, Normalization, parse_sources  # noqa: E402
from egvs.models.data import load_videos, video_keys  # noqa: E402
from egvs.models.experiment import Architecture, cross_validate  # noqa: E402
from egvs.models.export import export_model  # noqa: E402
from egvs.models.network import MultiSourceModel  # noqa: E402
from egvs.models.synthetic import write_synthetic_h5  # noqa: E402
from egvs.models.training import TrainSettings, train_model, validation_split  # noqa: E402
from egvs.scoring.onnx import load_scorer  # noqa: E402
from egvs.timeline import TimeGrid, Timeline  # noqa: E402

DIMS = {"visual": 24, "motion": 6, "emotion": 14}
TINY = Architecture(hidden=16, heads=2)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models gain nothing from threads, and spinning threads crawl on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory: pytest.TempPathFactory):
    """Eight short synthetic videos in the builder's layout."""
    return write_synthetic_h5(
        tmp_path_factory.mktemp("models") / "tiny.h5", n_videos=8, steps=(30, 50), dims=DIMS
    )


def random_timeline(n_steps: int, dims: dict[str, int], seed: int = 0) -> Timeline:
    rng = np.random.default_rng(seed)
    timeline = Timeline(TimeGrid(0.5, n_steps))
    for name, dim in dims.items():
        timeline.add_source(name, rng.standard_normal((n_steps, dim)))
    return timeline


def test_config_checks_and_source_parsing() -> None:
    assert (
        parse_sources("visual+emotion") == parse_sources("visual, emotion") == ("visual", "emotion")
    )
    with pytest.raises(ValueError, match="fusion"):
        ModelConfig(("visual",), {"visual": 4}, fusion="product")
    with pytest.raises(ValueError, match="no dimension"):
        ModelConfig(("visual", "emotion"), {"visual": 4})
    norm = Normalization.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_allclose(
        norm.apply(np.array([[2.0, 5.0]])), [[0.0, 0.0]]
    )  # constant column: no inf


@pytest.mark.parametrize("fusion", ["sum", "concat", "attention"])
def test_padding_does_not_change_a_video_s_scores(fusion: str) -> None:
    """Batched training pads videos; the mask must make padding invisible to the real steps."""
    torch.manual_seed(0)
    model = MultiSourceModel(
        ModelConfig(tuple(DIMS), DIMS, hidden=16, heads=2, fusion=fusion)
    ).eval()
    short = [torch.randn(1, 7, d) for d in DIMS.values()]
    padded = [torch.cat([x, torch.randn(1, 5, x.shape[2])], dim=1) for x in short]
    pad = torch.arange(12)[None] >= 7
    with torch.no_grad():
        alone, batched = model(short)[0], model(padded, pad)[0, :7]
    torch.testing.assert_close(alone, batched, atol=1e-5, rtol=1e-5)
    assert ((alone >= 0) & (alone <= 1)).all()


@pytest.mark.parametrize("fusion", ["sum", "concat", "attention"])
def test_onnx_export_matches_torch(tmp_path, fusion: str) -> None:
    config = ModelConfig(tuple(DIMS), DIMS, hidden=16, heads=2, fusion=fusion)
    torch.manual_seed(1)
    model = MultiSourceModel(config)
    rng = np.random.default_rng(2)
    norms = {
        s: Normalization(
            rng.standard_normal(d).astype(np.float32), rng.uniform(0.5, 2, d).astype(np.float32)
        )
        for s, d in DIMS.items()
    }
    export_model(model, ExportedModel(config, norms), tmp_path)
    assert not model.training  # export leaves the caller's model in eval mode
    timeline = random_timeline(53, DIMS)  # another length than the export example: dynamic axis
    scores = load_scorer(tmp_path).score(timeline)
    with torch.no_grad():
        expected = model(
            [torch.from_numpy(norms[s].apply(timeline.sources[s]))[None] for s in DIMS]
        )[0].numpy()
    assert scores.shape == (53,) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_scorer_reports_its_config_and_rejects_other_feature_sizes(tmp_path) -> None:
    config = ModelConfig(("visual", "emotion"), {"visual": 24, "emotion": 14}, hidden=8, heads=2)
    norms = {
        s: Normalization(np.zeros(d, np.float32), np.ones(d, np.float32))
        for s, d in config.dims.items()
    }
    export_model(MultiSourceModel(config), ExportedModel(config, norms, {"epochs": 3}), tmp_path)
    scorer = load_scorer(tmp_path)
    assert scorer.name == "egvs-model:visual+emotion"
    assert scorer.config()["sources"] == ["visual", "emotion"] and scorer.config()["training"] == {
        "epochs": 3
    }
    with pytest.raises(InputError, match="trained on 14"):
        scorer.score(random_timeline(10, {"visual": 24, "emotion": 9}))
    assert scorer.score(random_timeline(10, {"visual": 24})).shape == (
        10,
    )  # missing source: its mean
    with pytest.raises(SetupError, match="not an EGVS model"):
        load_scorer(tmp_path / "nowhere")


def test_validation_part_comes_from_the_training_fold_only() -> None:
    train, val = validation_split([f"video_{i}" for i in range(10)], 0.2, seed=3)
    assert len(val) == 2 and not set(train) & set(val) and len(train) + len(val) == 10
    assert validation_split(["video_1"], 0.2, seed=3) == (["video_1"], [])


def test_training_is_seeded_and_learns(tiny_h5) -> None:
    videos = load_videos(tiny_h5, ["visual", "emotion"])
    config = TINY.config(("visual", "emotion"), {"visual": 24, "emotion": 14})
    settings = TrainSettings(epochs=4, seed=5)
    first = train_model(videos, list(videos), config, settings)
    second = train_model(videos, list(videos), config, settings)
    losses = [row["train_loss"] for row in first.history]
    assert losses == [row["train_loss"] for row in second.history] and losses[-1] < losses[0]
    a, b = first.predict(list(videos.values())), second.predict(list(videos.values()))
    assert all(np.array_equal(a[k], b[k]) for k in videos)
    assert first.best_epoch == min(first.history, key=lambda r: r["val_loss"])["epoch"]


def test_cross_validation_never_sees_the_test_fold(tiny_h5) -> None:
    splits = kfold_splits(video_keys(tiny_h5), k=2, seed=0)
    run = cross_validate(tiny_h5, ["visual", "emotion"], splits, TrainSettings(epochs=2), TINY)
    for fold, split in zip(run["folds"], splits, strict=True):
        test = set(split["test_keys"])
        assert not test & (set(fold["train_keys"]) | set(fold["val_keys"]))
        assert set(fold["videos"]) == test and fold["val_keys"]
    assert set(run["summary"]["f1"]) == {"mean", "min", "max"}


def test_unknown_source_is_a_clear_error(tiny_h5) -> None:
    with pytest.raises(InputError, match="no source 'gaze'"):
        load_videos(tiny_h5, ["visual", "gaze"])


def test_cli_train_then_compare(tiny_h5, tmp_path, capsys) -> None:
    out = tmp_path / "model"
    common = ["--data", str(tiny_h5), "--folds", "2", "--epochs", "2", "-q"]
    common += ["--hidden", "16", "--heads", "2", "--threads", "1"]
    assert main(["train", *common, "--sources", "visual,motion,emotion", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "random (mean)" in table and "human (mean)" in table and "mean" in table
    results = json.loads((out / "results.json").read_text())
    assert results["format"] == "egvs.train/1" and len(results["run"]["folds"]) == 2
    assert load_scorer(out).score(random_timeline(9, DIMS)).shape == (9,)
    report = tmp_path / "compare.json"
    assert (
        main(["compare", *common, "--configs", "visual", "visual+emotion", "--json", str(report)])
        == 0
    )
    assert [r["sources"] for r in json.loads(report.read_text())["runs"]] == [
        ["visual"],
        ["visual", "emotion"],
    ]
    assert "visual+emotion" in capsys.readouterr().out


def test_inference_path_never_imports_torch(tmp_path) -> None:
    config = ModelConfig(("visual",), {"visual": 4}, hidden=8, heads=2)
    export_model(
        MultiSourceModel(config),
        ExportedModel(config, {"visual": Normalization.fit(np.eye(4))}),
        tmp_path,
    )
    code = (
        "import sys, numpy as np\n"
        "from egvs.cli.main import build_parser; build_parser()\n"
        "from egvs.scoring.onnx import load_scorer\n"
        "from egvs.timeline import Timeline, TimeGrid\n"
        "t = Timeline(TimeGrid(0.5, 6)); t.add_source('visual', np.ones((6, 4)))\n"
        f"load_scorer({str(tmp_path)!r}).score(t)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_option_errors_are_one_line_messages(tiny_h5, tmp_path, capsys) -> None:
    base = ["train", "--data", str(tiny_h5), "--out", str(tmp_path / "m"), "-q"]
    assert main([*base, "--sources", "visual", "--folds", "1"]) == 1  # bad options: usage
    assert main([*base, "--sources", "visual", "--hidden", "10", "--heads", "4"]) == 1
    assert main([*base, "--sources", "visual,gaze"]) == 2  # the dataset lacks it: bad input
    err = capsys.readouterr().err
    assert (
        "--folds must be in [2, 8]" in err
        and "multiple of --heads" in err
        and "no source 'gaze'" in err
    )
