"""Train the multi-source model: MSE on ground-truth importance, model selection on validation.

Within every training fold a seeded part of the videos is held out for validation; the epoch with
the lowest validation loss is kept. The test fold is only ever used for the final evaluation.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

from egvs.models.data import VideoData, fit_normalization
from egvs.models.network import MultiSourceModel
from egvs.progress import progress
from egvs.scoring.model_config import ModelConfig, Normalization


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings (the architecture lives in `ModelConfig`)."""

    epochs: int = 50
    lr: float = 5e-4
    weight_decay: float = 1e-4
    batch_size: int = 1
    val_fraction: float = 0.2
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainedModel:
    """A trained network with the normalisation it was trained with and its training history."""

    model: MultiSourceModel
    normalization: dict[str, Normalization]
    best_epoch: int
    history: list[dict[str, float]]
    train_keys: list[str]
    val_keys: list[str]

    def predict(self, videos: Sequence[VideoData]) -> dict[str, np.ndarray]:
        """Per-step importance of each video (eval mode, one video at a time, no padding)."""
        self.model.eval()
        out = {}
        with torch.no_grad():
            for video in videos:
                inputs = [
                    x[None] for x in _tensors(video, self.model.config.sources, self.normalization)
                ]
                out[video.key] = self.model(inputs)[0].numpy().astype(np.float32)
        return out


def seed_everything(seed: int) -> None:
    """Same seed, same weights, same batches, same dropout: runs are reproducible."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def validation_split(
    keys: Sequence[str], fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """(train, validation) keys from a training fold; at least one of each when there are two."""
    keys = list(keys)
    if len(keys) < 2 or fraction <= 0:
        return keys, []
    n_val = min(len(keys) - 1, max(1, round(fraction * len(keys))))
    order = np.random.default_rng(seed).permutation(len(keys))
    val = {keys[i] for i in order[:n_val]}
    return [k for k in keys if k not in val], [k for k in keys if k in val]


def train_model(
    videos: dict[str, VideoData],
    train_keys: Sequence[str],
    config: ModelConfig,
    settings: TrainSettings,
    desc: str = "train",
) -> TrainedModel:
    """Train on ``train_keys`` minus a validation part; keep the best epoch on validation loss."""
    seed_everything(settings.seed)
    fit_keys, val_keys = validation_split(train_keys, settings.val_fraction, settings.seed)
    norms = fit_normalization((videos[k] for k in fit_keys), config.sources)
    train_set = [_prepare(videos[k], config.sources, norms) for k in fit_keys]
    val_set = [_prepare(videos[k], config.sources, norms) for k in val_keys]
    model = MultiSourceModel(config)
    optimiser = torch.optim.Adam(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    order_rng = np.random.default_rng(settings.seed)
    best = (math.inf, 0, copy.deepcopy(model.state_dict()))
    history: list[dict[str, float]] = []
    with progress(settings.epochs, desc=desc, unit="epoch") as bar:
        for epoch in range(1, settings.epochs + 1):
            model.train()
            losses = []
            order = order_rng.permutation(len(train_set))
            for start in range(0, len(order), settings.batch_size):
                inputs, target, pad = _collate(
                    [train_set[i] for i in order[start : start + settings.batch_size]]
                )
                loss = _masked_mse(model(inputs, pad), target, pad)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses.append(loss.item())
            row = {"epoch": epoch, "train_loss": float(np.mean(losses))}
            if val_set:
                row["val_loss"] = _loss(model, val_set)
            history.append(row)
            # Without a validation part (a one-video fold) the last epoch is kept.
            criterion = row.get("val_loss", -epoch)
            if criterion < best[0]:
                best = (criterion, epoch, copy.deepcopy(model.state_dict()))
            bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k != "epoch"})
            bar.update(1)
    model.load_state_dict(best[2])
    model.eval()
    return TrainedModel(model, norms, best[1], history, list(fit_keys), list(val_keys))


def _prepare(
    video: VideoData, sources: Sequence[str], norms: dict[str, Normalization]
) -> tuple[list[Tensor], Tensor]:
    return _tensors(video, sources, norms), torch.from_numpy(video.target)


def _tensors(
    video: VideoData, sources: Sequence[str], norms: dict[str, Normalization]
) -> list[Tensor]:
    return [torch.from_numpy(norms[s].apply(video.sources[s])) for s in sources]


def _collate(items: Sequence[tuple[list[Tensor], Tensor]]) -> tuple[list[Tensor], Tensor, Tensor]:
    """Zero-pad a batch of videos to the longest; ``pad`` marks the padding steps."""
    lengths = torch.tensor([len(target) for _, target in items])
    pad = torch.arange(int(lengths.max()))[None, :] >= lengths[:, None]
    n_sources = len(items[0][0])
    inputs = [
        torch.nn.utils.rnn.pad_sequence([x[s] for x, _ in items], batch_first=True)
        for s in range(n_sources)
    ]
    target = torch.nn.utils.rnn.pad_sequence([t for _, t in items], batch_first=True)
    return inputs, target, pad


def _masked_mse(pred: Tensor, target: Tensor, pad: Tensor) -> Tensor:
    keep = ~pad
    return ((pred - target) ** 2)[keep].mean()


def _loss(model: MultiSourceModel, items: Sequence[tuple[list[Tensor], Tensor]]) -> float:
    """Mean per-step MSE over the videos (each video weighted by its length)."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for inputs, target in items:
            pred = model([x[None] for x in inputs])[0]
            total += float(((pred - target) ** 2).sum())
            count += len(target)
    return total / max(count, 1)
