"""How the voice's frames become one vector: mean pooling, attention pooling, layer weighting.

    .venv/bin/python benchmarks/ser_pooling.py extract      # ~1 h for the 8k emotion-corpus clips
    .venv/bin/python benchmarks/ser_pooling.py table --subset ravdess emodb emotiontts_ko nemo \
        ased deeply_korean_read [--kinds layer3 layers attention layer1 layer2 layer4]
        [--protocols speakers corpora] [--seed N] [--out pooling.json]

``extract`` runs Whisper-base's first four encoder layers in torch
(`egvs.ser_training.encoder_layers`) over every labelled clip once (emotion corpora first, so a
partial cache already serves ``--subset``) and caches, per clip, each layer's VAD-weighted mean
and std (as the shipped features pool layer 3) and layer 3's frames with their VAD weights
(``$EGVS_CACHE_DIR/ser-layers``).

``table`` trains the head's MLP on clean clips (no in-context or augmented views, so every row
is below the shipped training's figures, and the rows compare among themselves), on the same
speaker-grouped folds (``speakers``) and leave-one-corpus-out folds (``corpora``) as
`benchmarks/ser.py`, with each pooling:

* ``layerN``: mean + std of encoder layer N (``layer3`` is the shipped pooling), trained exactly
  as ``egvs ser train`` trains on clean clips;
* ``attention``: over layer 3's frames (every other frame, a clip's central 5 s), a learned
  score per frame (a linear map of the frame plus the log VAD weight), softmax over the clip,
  the attended mean and std, trained with the head, so the head chooses which frames speak for
  the clip; each speaker's baseline is recomputed from the current pooling every epoch;
* ``layers``: a learned softmax weighting of layers 1-4's per-speaker-normalised vectors,
  trained with the head.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from ser import DEFAULT_LABELS, HELD_OUT_CORPORA

from egvs.cache import cache_dir
from egvs.ser.audio import load_audio
from egvs.ser.backbone import FRAME_SECONDS
from egvs.ser.features import MIN_WEIGHT, pool
from egvs.ser.head import group_baselines, normalize_groups, softmax
from egvs.ser.vad import SileroVad
from egvs.ser_training.encoder_layers import TorchEncoder
from egvs.ser_training.labels import Item, read_many
from egvs.ser_training.mlp import train_mlp
from egvs.ser_training.train import (
    _cache_key,
    baseline_weights,
    cross_validate,
    norm_groups,
    report_outputs,
    speaker_folds,
    training_targets,
)

LAYER = 2  # the shipped backbone's last kept layer (0-based)
LAYERS = 4  # layers 1-4: the shipped layer 3 and its neighbours (layers 5-6 measured worse before)


def layer_cache() -> Path:
    out = cache_dir() / "ser-layers"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _file(item: Item) -> Path:
    return layer_cache() / f"{_cache_key(item.path)}.npz"


def extract(items: list[Item]) -> None:
    """Cache every clip's per-layer pooled vectors and layer-3 frames (skips cached clips)."""
    import torch

    torch.set_num_threads(1)
    encoder, vad = TorchEncoder(LAYERS), SileroVad()
    # Emotion corpora first: a partial cache already serves the emotion-only protocol.
    todo = sorted(
        (it for it in items if not _file(it).exists()),
        key=lambda it: it.dataset not in HELD_OUT_CORPORA,
    )
    t0 = time.time()
    for i, item in enumerate(todo):
        audio = load_audio(item.path)
        layers = encoder.layers(audio)
        weights = SileroVad.resample(vad(audio), layers.shape[1], FRAME_SECONDS)
        pooled = np.stack([pool(layer, weights) for layer in layers])
        file = _file(item)
        tmp = file.with_suffix(".tmp.npz")
        np.savez(tmp, pooled=pooled, frames=layers[LAYER].astype(np.float16), vad=weights)
        tmp.rename(file)
        if i % 200 == 0:
            print(f"{i}/{len(todo)} clips, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)


def load_pooled(items: list[Item]) -> np.ndarray:
    """(n, layers, 1024) per-layer pooled features."""
    return np.stack([np.load(_file(it))["pooled"] for it in items])


MAX_FRAMES = 250  # 5 s: longer clips keep their central 5 s for attention pooling (speed)
FRAME_STRIDE = 2  # and every other 20 ms frame: attention training is per frame, on one CPU core


def load_frames(items: list[Item]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer-3 frames of every clip concatenated (float16), each frame's log VAD weight, offsets."""
    frames, log_w, offsets = [], [], [0]
    for it in items:
        with np.load(_file(it)) as f:
            fr, vad = f["frames"][::FRAME_STRIDE], f["vad"][::FRAME_STRIDE]
        if len(fr) > MAX_FRAMES // FRAME_STRIDE:  # the central MAX_FRAMES
            a = (len(fr) - MAX_FRAMES // FRAME_STRIDE) // 2
            fr, vad = fr[a:][: MAX_FRAMES // FRAME_STRIDE], vad[a:][: MAX_FRAMES // FRAME_STRIDE]
        if len(fr) == 0:  # an empty clip: one silent frame
            fr, vad = np.zeros((1, fr.shape[1]), np.float16), np.zeros(1, np.float32)
        frames.append(fr)
        log_w.append(np.log(np.maximum(vad, MIN_WEIGHT)).astype(np.float32))
        offsets.append(offsets[-1] + len(fr))
    return np.concatenate(frames), np.concatenate(log_w), np.array(offsets)


def _normalised(p: np.ndarray, items: list[Item], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    groups = norm_groups(items)
    return normalize_groups(p, groups, mean, std, baseline_weights(items, groups))


def train_and_predict(
    kind: str, data: dict, train_idx: np.ndarray, test_idx: np.ndarray, items: list[Item], seed: int
) -> dict[str, np.ndarray]:
    """Fit pooling + MLP on ``train_idx``; logits per task for ``test_idx``."""
    import torch

    torch.set_num_threads(1)
    f = torch.nn.functional
    tr_items = [items[i] for i in train_idx]
    te_items = [items[i] for i in test_idx]
    targets = training_targets(tr_items)
    params: list[torch.nn.Parameter] = []

    if kind == "layers":
        pooled = data["pooled"]  # (N, L, 1024)
        n_layers = pooled.shape[1]
        stats = [_stats(pooled[train_idx, layer]) for layer in range(n_layers)]
        per_layer_tr, per_layer_te = (
            np.stack(
                [_normalised(pooled[rows, i], its, *stats[i]) for i in range(n_layers)], axis=1
            )
            for rows, its in ((train_idx, tr_items), (test_idx, te_items))
        )
        alpha = torch.nn.Parameter(torch.zeros(n_layers))
        alpha.data[LAYER] = 2.0  # start near the shipped layer
        params.append(alpha)
        ztr, zte = torch.from_numpy(per_layer_tr), torch.from_numpy(per_layer_te)

        def features(idx: torch.Tensor, train: bool) -> torch.Tensor:
            z = (ztr if train else zte)[idx]
            return (f.softmax(alpha, 0)[None, :, None] * z).sum(1)

        refresh = None
    else:
        frames = torch.from_numpy(data["frames"])
        log_w = torch.from_numpy(data["log_w"])
        offsets = data["offsets"]
        score = torch.nn.Parameter(torch.zeros(frames.shape[1]))
        params.append(score)

        def pool_clips(clips: np.ndarray) -> torch.Tensor:
            lengths = offsets[clips + 1] - offsets[clips]
            t = int(lengths.max())
            index = offsets[clips][:, None] + np.minimum(np.arange(t)[None], lengths[:, None] - 1)
            mask = torch.from_numpy(np.arange(t)[None] < lengths[:, None])
            idx = torch.from_numpy(index)
            x = frames[idx].float()  # (B, T, 512)
            s = x @ score + log_w[idx]
            a = f.softmax(s.masked_fill(~mask, -1e9), dim=1)[..., None]
            mean = (a * x).sum(1)
            var = (a * (x - mean[:, None]) ** 2).sum(1)
            return torch.cat([mean, torch.sqrt(var + 1e-6)], 1)

        def pooled_all(clips: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return np.concatenate(
                    [pool_clips(clips[i : i + 256]).numpy() for i in range(0, len(clips), 256)]
                )

        base: dict[str, torch.Tensor] = {}

        def refresh() -> None:
            """Speaker baselines of the current pooling (fixed within an epoch)."""
            p = pooled_all(train_idx)
            mean, std = _stats(p)
            groups = norm_groups(tr_items)
            shift, scale = group_baselines(p, groups, mean, std, baseline_weights(tr_items, groups))
            base["shift"] = torch.from_numpy(shift.astype(np.float32))
            base["scale"] = torch.from_numpy(scale.astype(np.float32))
            base["stats"] = (mean, std)

        def features(idx: torch.Tensor, train: bool) -> torch.Tensor:
            p = pool_clips(train_idx[idx.numpy()])
            return (p - base["shift"][idx]) / base["scale"][idx]

    trunk, outs = train_mlp(
        len(train_idx),
        1024,
        targets,
        lambda idx: features(idx, True),
        seed=seed,
        extra_params=params,
        before_epoch=refresh,
    )
    trunk.eval()
    with torch.no_grad():
        if kind == "layers":
            z = features(torch.arange(len(test_idx)), False)
        else:
            refresh()
            z = torch.from_numpy(_normalised(pooled_all(test_idx), te_items, *base["stats"]))
        h = trunk(z)
        return {name: head(h).numpy() for name, head in zip(targets, outs, strict=True)}


def _stats(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return p.mean(0), p.std(0) + 1e-6


def cross_validate_pooling(
    kind: str, data: dict, items: list[Item], folds: np.ndarray, seed: int
) -> dict:
    """Out-of-fold report (`egvs.ser_training.evaluate.report`) for one pooling kind.

    ``layerN`` (mean + std of encoder layer N, 1-based) trains exactly as ``egvs ser train``
    does on clean clips (`egvs.ser_training.train.cross_validate`); ``attention`` and ``layers``
    train their pooling with the same MLP, loss, weights and schedule.
    """
    if kind.startswith("layer") and kind != "layers":
        x = data["pooled"][:, int(kind[5:]) - 1]
        report, _ = cross_validate(x, items, seed=seed, folds=folds)
        return report
    oof: dict[str, np.ndarray] = {}
    for k in np.unique(folds[folds >= 0]):
        test = np.flatnonzero(folds == k)
        train = np.flatnonzero(folds != k)
        if not len(train):
            continue
        for name, value in train_and_predict(kind, data, train, test, items, seed).items():
            oof.setdefault(name, np.zeros((len(items), value.shape[1])))[test] = value
        print(f"{kind}: fold {k + 1}", file=sys.stderr, flush=True)
    scored = folds >= 0
    probs = {name: softmax(value[scored]) for name, value in oof.items()}
    return report_outputs([it for it, s in zip(items, scored, strict=True) if s], probs)


def table(
    items: list[Item],
    kinds: list[str],
    seed: int,
    speaker_fold_count: int = 8,
    protocols: tuple[str, ...] = ("speakers", "corpora"),
) -> dict:
    data: dict = {"pooled": load_pooled(items)}
    if "attention" in kinds:
        data["frames"], data["log_w"], data["offsets"] = load_frames(items)
    datasets = np.array([it.dataset for it in items])
    loco = np.full(len(items), -1)
    for k, corpus in enumerate(HELD_OUT_CORPORA):
        loco[datasets == corpus] = k
    out = {}
    for kind in kinds:
        t0 = time.time()
        folds = {"speakers": speaker_folds(items, speaker_fold_count, seed), "corpora": loco}
        out[kind] = {
            p: cross_validate_pooling(kind, data, items, folds[p], seed) for p in protocols
        }
        out[kind]["seconds"] = time.time() - t0
        print(json.dumps(summary(out[kind])), flush=True)
    return out


def summary(result: dict) -> dict:
    sp = result.get("speakers", {"datasets": {}})["datasets"]
    co = result.get("corpora", {"datasets": {}})["datasets"]
    five = [
        c
        for c in HELD_OUT_CORPORA
        if c in co and co[c].get("uar") == co[c].get("uar") and "uar" in co[c]
    ]
    return {
        "speakers": {
            c: round(100 * sp[c]["accuracy"], 1)
            for c in HELD_OUT_CORPORA
            if c in sp and "accuracy" in sp[c]
        },
        "laughs": round(
            100 * sp.get("emogator", {}).get("vocalization_recall_open", float("nan")), 1
        ),
        "corpora": {
            c: (
                round(100 * co[c]["uar"], 1),
                round(100 * co[c].get("arousal_uar", float("nan")), 1),
            )
            for c in five
        },
        "corpora_mean": round(100 * float(np.mean([co[c]["uar"] for c in five])), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("extract", "table"))
    parser.add_argument("--labels", type=Path, action="append")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["layer3", "attention", "layers", "layer1", "layer2", "layer4"],
        help="layerN: mean + std of layer N (layer3 is the shipped pooling); attention; layers",
    )
    parser.add_argument("--subset", nargs="+", help="only these corpora")
    parser.add_argument("--speaker-folds", type=int, default=8)
    parser.add_argument(
        "--protocols", nargs="+", choices=("speakers", "corpora"), default=["speakers", "corpora"]
    )
    args = parser.parse_args()
    items = read_many(args.labels or DEFAULT_LABELS)
    if args.command == "extract":
        extract(items)
        return
    if args.subset:  # only the corpora named (e.g. while the rest is still extracting)
        items = [it for it in items if it.dataset in args.subset]
    result = table(items, args.kinds, args.seed, args.speaker_folds, tuple(args.protocols))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
