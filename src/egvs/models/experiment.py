"""Cross-validated experiments: train per fold, evaluate on the test fold with the shared evaluation
code, and report each fold with min/max/mean beside the random and human rows of the same videos.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from egvs.evaluation import (
    METRICS,
    baselines,
    evaluate_h5_predictions,
    from_h5,
    mean_rows,
    split_summary,
)
from egvs.models.data import VideoData, load_videos, source_dims, video_keys
from egvs.models.export import export_model
from egvs.models.training import TrainSettings, train_model
from egvs.scoring.model_config import ExportedModel, ModelConfig

RESULTS_FORMAT = "egvs.train/1"
SHOWN = (("f1", "F1"), ("tau", "tau"), ("rho", "rho"), ("top15_f1", "top15 F1"))


@dataclass(frozen=True)
class Architecture:
    """The model options that do not depend on the data (sizes come from the dataset)."""

    hidden: int = 128
    heads: int = 4
    fusion: str = "sum"
    dropout: float = 0.3

    def config(self, sources: Sequence[str], dims: dict[str, int]) -> ModelConfig:
        return ModelConfig(
            tuple(sources),
            {s: dims[s] for s in sources},
            self.hidden,
            self.heads,
            self.fusion,
            self.dropout,
        )


def cross_validate(
    h5_path: Path,
    sources: Sequence[str],
    splits: Sequence[dict[str, list[str]]],
    settings: TrainSettings,
    arch: Architecture,
    videos: dict[str, VideoData] | None = None,
) -> dict:
    """Train and test one source set on every split; the JSON-able result with per-fold rows."""
    videos = videos if videos is not None else load_videos(h5_path, sources, _all_keys(splits))
    config = arch.config(sources, source_dims(videos))
    folds = []
    for i, split in enumerate(splits, start=1):
        start = time.perf_counter()
        fold_settings = replace(settings, seed=settings.seed + i)
        trained = train_model(
            videos,
            split["train_keys"],
            config,
            fold_settings,
            desc=f"{'+'.join(sources)} fold {i}/{len(splits)}",
        )
        test = [videos[k] for k in split["test_keys"]]
        evaluation = evaluate_h5_predictions(h5_path, trained.predict(test), split["test_keys"])
        folds.append(
            {
                "fold": i,
                "train_keys": trained.train_keys,
                "val_keys": trained.val_keys,
                "test_keys": list(split["test_keys"]),
                "best_epoch": trained.best_epoch,
                "seconds": round(time.perf_counter() - start, 2),
                "metrics": evaluation["mean"],
                "videos": evaluation["videos"],
                "history": trained.history,
            }
        )
    return {
        "sources": list(sources),
        "model": config.to_dict(),
        "folds": folds,
        "summary": split_summary([f["metrics"] for f in folds]),
    }


def baselines_per_fold(
    h5_path: Path, splits: Sequence[dict[str, list[str]]], jobs: int = 1
) -> dict:
    """Random and human rows on each fold's test videos, summarised like a method.

    Computed once per video (the random rows are seeded per video), then averaged per fold.
    """
    per_video = baselines(from_h5(h5_path, _all_keys(splits)), jobs=jobs)
    out = {}
    for name, rows in per_video.items():
        folds = [mean_rows(rows[k] for k in split["test_keys"]) for split in splits]
        out[name] = {"folds": folds, "summary": split_summary(folds)}
    return out


def run_train(
    h5_path: Path,
    sources: Sequence[str],
    splits: Sequence[dict[str, list[str]]],
    settings: TrainSettings,
    arch: Architecture,
    out_dir: Path,
    jobs: int = 1,
) -> dict:
    """``egvs train``: cross-validate, then train on every video and export the deployable model."""
    videos = load_videos(h5_path, sources, video_keys(h5_path))
    result = _header(h5_path, splits, settings)
    result["run"] = cross_validate(h5_path, sources, splits, settings, arch, videos)
    result["baselines"] = baselines_per_fold(h5_path, splits, jobs)
    if out_dir is not None:
        config = arch.config(sources, source_dims(videos))
        final = train_model(
            videos, list(videos), config, settings, desc=f"{'+'.join(sources)} all videos"
        )
        meta = ExportedModel(
            config,
            final.normalization,
            {
                "data": str(h5_path),
                "videos": len(videos),
                "best_epoch": final.best_epoch,
                **settings.to_dict(),
            },
        )
        export_model(final.model, meta, out_dir)
        result["exported"] = str(out_dir)
    return result


def run_compare(
    h5_path: Path,
    source_sets: Sequence[Sequence[str]],
    splits: Sequence[dict[str, list[str]]],
    settings: TrainSettings,
    arch: Architecture,
    jobs: int = 1,
) -> dict:
    """``egvs compare``: every source set on the same folds, seeds and settings (a fair ablation)."""
    needed = sorted({s for sources in source_sets for s in sources})
    videos = load_videos(h5_path, needed, _all_keys(splits))
    result = _header(h5_path, splits, settings)
    result["runs"] = [
        cross_validate(h5_path, sources, splits, settings, arch, videos) for sources in source_sets
    ]
    result["baselines"] = baselines_per_fold(h5_path, splits, jobs)
    return result


def format_folds(result: dict) -> str:
    """Per-fold table of one run, with min/max/mean and the random and human rows."""
    run = result["run"]
    lines = [_row("fold", [label for _, label in SHOWN] + ["epoch"])]
    for fold in run["folds"]:
        lines.append(
            _row(
                str(fold["fold"]),
                [_num(fold["metrics"][m]) for m, _ in SHOWN] + [str(fold["best_epoch"])],
            )
        )
    for stat in ("min", "max", "mean"):
        lines.append(_row(stat, [_num(run["summary"][m][stat]) for m, _ in SHOWN]))
    for name in ("random", "human"):
        lines.append(
            _row(
                f"{name} (mean)",
                [_num(result["baselines"][name]["summary"][m]["mean"]) for m, _ in SHOWN],
            )
        )
    return _titled(result, "+".join(run["sources"]), lines)


def format_comparison(result: dict) -> str:
    """The ablation table: mean [min, max] over folds of each metric, one row per source set."""
    named = [(name, result["baselines"][name]["summary"]) for name in ("random", "human")]
    named += [("+".join(run["sources"]), run["summary"]) for run in result["runs"]]
    first = max(len(name) for name, _ in named) + 2
    lines = [_row("sources", [label for _, label in SHOWN], width=25, first=first)]
    for name, summary in named:
        cells = [
            f"{_num(summary[m]['mean'])} [{_num(summary[m]['min'])}, {_num(summary[m]['max'])}]"
            for m, _ in SHOWN
        ]
        lines.append(_row(name, cells, width=25, first=first))
    return _titled(result, "comparison, mean [min, max] over folds", lines)


def _header(h5_path: Path, splits: Sequence[dict[str, list[str]]], settings: TrainSettings) -> dict:
    return {
        "format": RESULTS_FORMAT,
        "data": str(h5_path),
        "n_splits": len(splits),
        "settings": settings.to_dict(),
        "metrics": list(METRICS),
    }


def _all_keys(splits: Sequence[dict[str, list[str]]]) -> list[str]:
    return sorted({k for split in splits for k in (*split["train_keys"], *split["test_keys"])})


def _titled(result: dict, title: str, lines: list[str]) -> str:
    settings = result["settings"]
    head = (
        f"{title}: {result['n_splits']} folds, {settings['epochs']} epochs, "
        f"seed {settings['seed']} ({result['data']})"
    )
    return "\n".join([head, *lines])


def _row(name: str, cells: Sequence[str], width: int = 12, first: int = 14) -> str:
    return f"{name:<{first}}" + "".join(f"{c:>{width}}" for c in cells)


def _num(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"
