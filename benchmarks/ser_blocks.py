"""A CPU pilot of training Whisper-base's upper encoder blocks (4, or 4-5, or 4-6) with the head.

    .venv/bin/python benchmarks/ser_blocks.py extract        # ~11 min: the 5 emotion corpora
    .venv/bin/python benchmarks/ser_blocks.py run speakers   # one speaker fold, ~13 min (block 4)
    .venv/bin/python benchmarks/ser_blocks.py run corpus:emotiontts_ko   # one corpus held out
        [--blocks 1|2|3] [--epochs 3] [--lr 5e-5] [--seed 0]
        [--same-script-only] [--content-adversary STRENGTH]

``extract`` runs Whisper-base's first three encoder blocks in torch
(`egvs.ser_training.encoder_layers`, the shipped backbone's weights) over every labelled clip of
RAVDESS, EmoDB, emotiontts_ko, nEMO and ASED, and keeps each clip's block-3 output before the
final layer norm (the input block 4 takes; the central 3 s, the analysis' window) with its VAD
weights, in ``--work`` (1.1 GB, float16); and the same of deeply_korean_read's clips (878 clips
of the same scripts read in three voice sentiments), which no run trains on.

``run`` trains on the other clips and scores the held-out ones (one fold: the first of
`speaker_folds`' 8 speaker-grouped folds, or one whole corpus) three times, with the head's MLP
and loss as `egvs.ser_training.mlp` trains them on clean clips (16 epochs, each speaker
normalised against a calm-weighted baseline, corpus weights), and also scores the voice
valence of deeply_korean_read's clips: there the words say nothing of the label, so a gain on an
unheard corpus that does not show there may be the upper blocks reading words:

* ``layer 3 frozen``: the final layer norm over block 3 (the shipped features, in float32);
* ``layer N frozen``: the ``--blocks`` pretrained blocks after block 3 (N = 3 + blocks), then
  the final layer norm;
* ``blocks 4-N fine-tuned``: the frozen layer-N run, then ``--epochs`` more epochs in which those
  blocks and the final layer norm train with the head (AdamW at ``--lr``; the head at its own
  rate), each speaker's baseline recomputed from the current blocks before every epoch;
* ``layer 3 frozen + blocks 4-N fine-tuned, mean``: the mean of those two rows' probabilities.

``--same-script-only`` trains on the clips whose sentence is read in several emotions alone, so
no word in training tells an emotion; ``--content-adversary`` adds a sentence-reading output
behind a gradient reversal, which reaches the trained blocks too.

A pilot, not the issue's protocol: one fold, one seed (one epoch of block 4 over the ~6,200
training clips takes about 3 minutes on 2 cores; blocks 4-6 take about 5.5).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from ser import DEFAULT_LABELS

from egvs.ser import backbone
from egvs.ser.audio import load_audio
from egvs.ser.features import MIN_WEIGHT
from egvs.ser.head import group_baselines, normalize_groups, softmax
from egvs.ser.vad import SileroVad
from egvs.ser_training import mlp
from egvs.ser_training.encoder_layers import MAX_MEL_FRAMES, TorchEncoder
from egvs.ser_training.labels import Item, read_many
from egvs.ser_training.train import (
    baseline_weights,
    content_targets,
    norm_groups,
    report_outputs,
    speaker_folds,
    training_targets,
)

CORPORA = ("ravdess", "emodb", "emotiontts_ko", "nemo", "ased")
# The same scripts read in three voice sentiments: scored in every run, never trained on.
CHECK_CORPUS = "deeply_korean_read"
# The report's columns printed per corpus, and their labels.
SHOWN = {
    "accuracy": "accuracy",
    "uar": "UAR",
    "arousal_uar": "arousal UAR",
    "valence_uar": "valence UAR",
}
WINDOW_FRAMES = 150  # 3 s of 20 ms encoder frames: the analysis' window
FT_BATCH = 64
F = torch.nn.functional


def emotion_items(labels: list[Path]) -> tuple[list[Item], list[Item]]:
    """The five corpora's labelled clips, and the same-script check's clips with a valence."""
    items = read_many(labels)
    return (
        [it for it in items if it.dataset in CORPORA and it.label],
        [it for it in items if it.dataset == CHECK_CORPUS and it.valence],
    )


def extract(items: list[Item], path: Path) -> None:
    """Block 3's output (before the final norm) and VAD weights of each clip's central 3 s."""
    encoder, vad = TorchEncoder(3), SileroVad()
    frames = np.zeros((len(items), WINDOW_FRAMES, 512), np.float16)
    weights = np.zeros((len(items), WINDOW_FRAMES), np.float32)
    lengths = np.ones(len(items), np.int64)
    t0 = time.time()
    for i, item in enumerate(items):
        audio = load_audio(item.path)
        out = encoder.residuals(backbone.log_mel(audio)[:, :MAX_MEL_FRAMES])[-1][0].numpy()
        w = SileroVad.resample(vad(audio), len(out), backbone.FRAME_SECONDS)
        start = max(0, (len(out) - WINDOW_FRAMES) // 2)
        out, w = out[start : start + WINDOW_FRAMES], w[start : start + WINDOW_FRAMES]
        frames[i, : len(out)], weights[i, : len(out)] = out, w
        lengths[i] = max(1, len(out))
        if i % 500 == 0:
            print(f"{i}/{len(items)} clips, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    paths = np.array([str(it.path) for it in items])
    np.savez(path, frames=frames, vad=weights, lengths=lengths, paths=paths)


class Pooling:
    """Clips' block-3 frames -> (blocks 4..) -> final layer norm -> VAD-weighted mean and std."""

    def __init__(self, data: dict[str, np.ndarray], n_blocks: int) -> None:
        self.frames = torch.from_numpy(data["frames"])
        self.vad = torch.from_numpy(data["vad"])
        self.lengths = data["lengths"]
        encoder = TorchEncoder(3 + n_blocks)
        self.blocks = encoder.blocks[3:]
        self.final = [torch.nn.Parameter(p.clone()) for p in encoder.final]

    def __call__(self, clips: np.ndarray, with_block: bool, grad: bool) -> torch.Tensor:
        t = int(self.lengths[clips].max())
        x = self.frames[clips, :t].float()
        mask = torch.from_numpy(np.arange(t)[None] < self.lengths[clips][:, None])
        w = self.vad[clips, :t].clamp(min=MIN_WEIGHT) * mask
        with torch.set_grad_enabled(grad):
            if with_block:
                for block in self.blocks:
                    x = block(x, mask)
            x = F.layer_norm(x, (x.shape[-1],), *self.final)
            w = (w / w.sum(1, keepdim=True))[..., None]
            mean = (w * x).sum(1)
            std = torch.sqrt((w * (x - mean[:, None]) ** 2).sum(1) + 1e-6)
            return torch.cat([mean, std], 1)

    def all(self, clips: np.ndarray, with_block: bool) -> np.ndarray:
        """Pooled vectors of ``clips`` without gradients, in batches of similar length."""
        order = np.argsort(self.lengths[clips])
        out = np.zeros((len(clips), 1024), np.float32)
        for s in range(0, len(clips), 128):
            idx = order[s : s + 128]
            out[idx] = self(clips[idx], with_block, False).numpy()
        return out


def _baselines(pooled: np.ndarray, items: list[Item]):
    """Each row's speaker baseline (shift, scale) and the global statistics."""
    mean, std = pooled.mean(0), pooled.std(0) + 1e-6
    groups = norm_groups(items)
    shift, scale = group_baselines(pooled, groups, mean, std, baseline_weights(items, groups))
    as_tensor = lambda a: torch.from_numpy(a.astype(np.float32))  # noqa: E731
    return as_tensor(shift), as_tensor(scale), (mean, std)


def fit_and_score(
    pooling: Pooling,
    items: list[Item],
    train: np.ndarray,
    test: np.ndarray,
    with_block: bool,
    epochs: int,
    lr: float,
    seed: int,
    content_adversary: float = 0.0,
) -> dict[str, np.ndarray]:
    """Train on ``train`` (the head, then with ``epochs`` the block too); the probabilities of
    each output on ``test``. With ``content_adversary`` > 0, a sentence output reads the hidden
    layer and the gradient it sends back (into the trunk, and the trained blocks) is reversed at
    that strength, as `egvs.ser_training.mlp` trains the package's content adversary."""
    torch.manual_seed(seed)
    tr_items, te_items = [items[i] for i in train], [items[i] for i in test]
    targets = training_targets(tr_items, adversaries=("content",) if content_adversary else ())
    names = list(targets)
    y = np.full((len(names), len(train)), -1, np.int64)
    w = np.zeros((len(names), len(train)), np.float32)
    for i, name in enumerate(names):
        rows, labels, weights, _ = targets[name]
        y[i, rows], w[i, rows] = labels, weights / weights.mean()
    yt, wt = torch.from_numpy(y), torch.from_numpy(w)
    trunk = torch.nn.Sequential(
        torch.nn.Dropout(mlp.DROPOUT_INPUT),
        torch.nn.Linear(1024, mlp.HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Dropout(mlp.DROPOUT_HIDDEN),
    )
    outs = torch.nn.ModuleList(torch.nn.Linear(mlp.HIDDEN, targets[n][3]) for n in names)
    head_params = list(trunk.parameters()) + list(outs.parameters())
    opt = torch.optim.AdamW(head_params, lr=mlp.LEARNING_RATE, weight_decay=mlp.WEIGHT_DECAY)
    generator = torch.Generator().manual_seed(seed)

    def loss_of(z: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        h = trunk(z)
        loss = torch.zeros(())
        for i, (name, out) in enumerate(zip(names, outs, strict=True)):
            seen = mlp.reversed_gradient(h, content_adversary) if name == "content" else h
            ce = F.cross_entropy(out(seen), yt[i, idx].clamp(min=0), reduction="none")
            loss = loss + (ce * wt[i, idx]).sum() / max(float(wt[i, idx].sum()), 1.0)
        return loss

    pooled = pooling.all(train, with_block)
    shift, scale, stats = _baselines(pooled, tr_items)
    z = (torch.from_numpy(pooled) - shift) / scale
    for _ in range(mlp.EPOCHS):  # the head on frozen features, as the shipped MLP trains
        for idx in torch.randperm(len(train), generator=generator).split(mlp.BATCH):
            loss = loss_of(z[idx], idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
    if epochs:
        block_opt = torch.optim.AdamW(
            list(pooling.blocks.parameters()) + pooling.final, lr=lr, weight_decay=0.01
        )
        for epoch in range(epochs):
            t0 = time.time()
            shift, scale, stats = _baselines(pooling.all(train, True), tr_items)
            for idx in torch.randperm(len(train), generator=generator).split(FT_BATCH):
                z_batch = (pooling(train[idx.numpy()], True, True) - shift[idx]) / scale[idx]
                loss = loss_of(z_batch, idx)
                opt.zero_grad()
                block_opt.zero_grad()
                loss.backward()
                opt.step()
                block_opt.step()
            print(f"  epoch {epoch + 1}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        shift, scale, stats = _baselines(pooling.all(train, True), tr_items)
    trunk.eval()
    groups = norm_groups(te_items)
    with torch.no_grad():
        z_test = normalize_groups(
            pooling.all(test, with_block), groups, *stats, baseline_weights(te_items, groups)
        )
        h = trunk(torch.from_numpy(z_test))
        return {
            name: softmax(out(h).numpy())
            for name, out in zip(names, outs, strict=True)
            if name != "content"
        }


def _report(items: list[Item], probs: dict[str, np.ndarray]) -> dict:
    """The shown metrics per corpus of ``items``."""
    report = report_outputs(items, probs)["datasets"]
    return {corpus: {key: m.get(key) for key in ("n", *SHOWN)} for corpus, m in report.items()}


def _load(path: Path, items: list[Item]) -> dict[str, np.ndarray]:
    data = dict(np.load(path))
    if list(data["paths"]) != [str(it.path) for it in items]:
        sys.exit(f"the clips in {path} differ from the labels: run extract again")
    return data


def run(
    items: list[Item],
    check: list[Item],
    work: Path,
    held_out: str,
    n_blocks: int,
    epochs: int,
    lr: float,
    seed: int,
    same_script_only: bool = False,
    content_adversary: float = 0.0,
) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """Score the held-out clips, and the same-script check's clips (never trained on).

    ``same_script_only`` trains on the clips whose sentence is read in several emotions alone
    (`content_targets`): their words say nothing of the label, so no gain can come from
    reading them."""
    main, extra = _load(work / "block3.npz", items), _load(work / "check.npz", check)
    data = {key: np.concatenate([main[key], extra[key]]) for key in main}
    datasets = np.array([it.dataset for it in items])
    if held_out == "speakers":
        test_mask = speaker_folds(items, 8, seed) == 0
    else:
        test_mask = datasets == held_out.removeprefix("corpus:")
    train_mask = ~test_mask
    if same_script_only:
        train_mask &= np.isin(np.arange(len(items)), content_targets(items)[0])
    train = np.flatnonzero(train_mask)
    test = np.concatenate([np.flatnonzero(test_mask), len(items) + np.arange(len(check))])
    items = items + check
    pooling = Pooling(data, n_blocks)
    top = 3 + n_blocks
    tuned = f"blocks 4-{top} fine-tuned" if n_blocks > 1 else "layer 4 fine-tuned"
    probs, rows = {}, {}
    for name, with_block, n_epochs in (
        ("layer 3 frozen", False, 0),
        (f"layer {top} frozen", True, 0),
        (tuned, True, epochs),
    ):
        t0 = time.time()
        probs[name] = fit_and_score(
            pooling, items, train, test, with_block, n_epochs, lr, seed, content_adversary
        )
        print(f"{name} ({time.time() - t0:.0f} s)")
    # Two heads side by side: does layer 3 keep its corpora while the blocks add theirs?
    probs[f"layer 3 frozen + {tuned}, mean"] = {
        output: (probs["layer 3 frozen"][output] + probs[tuned][output]) / 2
        for output in probs[tuned]
    }
    test_items = [items[i] for i in test]
    for name, row_probs in probs.items():
        rows[name] = _report(test_items, row_probs)
        print(name)
        for corpus, m in rows[name].items():
            cells = "  ".join(
                f"{label} " + (f"{100 * m[key]:5.1f}" if m[key] is not None else "  -")
                for key, label in SHOWN.items()
            )
            print(f"  {corpus:18s} n={m['n']:4d}  {cells}")
    return rows, probs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("extract", "run"))
    parser.add_argument("held_out", nargs="?", default="speakers", help="speakers or corpus:NAME")
    parser.add_argument("--labels", type=Path, action="append")
    parser.add_argument("--work", type=Path, default=Path("/tmp/egvs-blocks"))
    parser.add_argument("--blocks", type=int, choices=(1, 2, 3), default=1, help="blocks after 3")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--same-script-only",
        action="store_true",
        help="train only on clips whose sentence is read in several emotions",
    )
    parser.add_argument(
        "--content-adversary",
        type=float,
        default=0.0,
        metavar="STRENGTH",
        help="train a sentence-reading adversary behind a gradient reversal at this strength",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="write the rows as JSON, and their held-out probabilities beside it (.npz)",
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    items, check = emotion_items(args.labels or DEFAULT_LABELS)
    if args.command == "extract":
        for name, clips in (("block3.npz", items), ("check.npz", check)):
            if not (args.work / name).exists():
                extract(clips, args.work / name)
        return
    rows, probs = run(
        items,
        check,
        args.work,
        args.held_out,
        args.blocks,
        args.epochs,
        args.lr,
        args.seed,
        args.same_script_only,
        args.content_adversary,
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
        np.savez(  # each row's held-out probabilities, for comparing other mixtures offline
            args.out.with_suffix(".npz"),
            **{f"{row}/{output}": p for row, outs in probs.items() for output, p in outs.items()},
        )


if __name__ == "__main__":
    main()
