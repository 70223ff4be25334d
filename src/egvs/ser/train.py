"""Training the shipped head (``egvs ser train``): features, speaker-grouped CV, final fit.

Every clip is encoded once and its pooled features are cached under
``$EGVS_CACHE_DIR/ser-features`` (keyed by file path, size, mtime and backbone), so retraining with
other settings costs seconds. Folds group by speaker within each dataset, so every CV figure is on
speakers the fold's model never heard. The run is deterministic for a given ``seed``.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from egvs.features.audio_blocks import SAMPLE_RATE, iter_blocks
from egvs.progress import logger
from egvs.ser import backbone
from egvs.ser.audio import load_audio
from egvs.ser.evaluate import report
from egvs.ser.features import Featurizer
from egvs.ser.head import LogisticHead, fit_logistic, normalize_groups
from egvs.ser.labels import CLASSES, Item
from egvs.timeline import TimeGrid

DEFAULT_L2 = 1e-2
DEFAULT_FOLDS = 8


def _cache_key(path: Path) -> str:
    st = path.stat()
    ident = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{json.dumps(backbone.config(), sort_keys=True)}"
    return hashlib.sha1(ident.encode()).hexdigest()


def clip_features(
    items: Sequence[Item], featurizer: Featurizer | None = None, use_cache: bool = True
) -> np.ndarray:
    """Pooled features (n, 1024) for every item's audio, from the cache where possible."""
    cache = backbone.cache_dir() / "ser-features"
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for i, item in enumerate(items):
        file = cache / f"{_cache_key(item.path)}.npy"
        if use_cache and file.exists():
            out.append(np.load(file))
            continue
        featurizer = featurizer or Featurizer()
        feats, _ = featurizer.clip(load_audio(item.path))
        np.save(file, feats)
        out.append(feats)
        if i % 100 == 0:
            logger.info("ser features: %d/%d", i + 1, len(items))
    return np.stack(out) if out else np.zeros((0, 1024), dtype=np.float32)


def context_features(items: Sequence[Item], featurizer: Featurizer | None = None) -> np.ndarray:
    """Each clip's features as analysis sees them (n, 1024), to train like we infer.

    Per speaker, the clips are concatenated in a fixed shuffled order with 0.6-1.6 s pauses, run
    through the pipeline's 25 s blocks, and each clip gets the 3 s window centred on it: the encoder
    then hears neighbouring speech, as it does in a video. Cached per speaker.
    """
    cache = backbone.cache_dir() / "ser-features"
    cache.mkdir(parents=True, exist_ok=True)
    out = np.zeros((len(items), 1024), dtype=np.float32)
    for speaker in sorted({it.speaker for it in items}):
        idx = [i for i, it in enumerate(items) if it.speaker == speaker]
        keys = "|".join(sorted(_cache_key(items[i].path) for i in idx))
        file = cache / f"ctx-{hashlib.sha1(f'{speaker}|{keys}'.encode()).hexdigest()}.npy"
        if file.exists():
            out[idx] = np.load(file)
            continue
        featurizer = featurizer or Featurizer()
        rng = np.random.default_rng(zlib.crc32(keys.encode()))
        order = sorted(idx, key=lambda i: _cache_key(items[i].path))
        order = [order[j] for j in rng.permutation(len(order))]
        parts, centres, pos = [], [], 0
        for i in order:
            x = load_audio(items[i].path)
            centres.append((pos + len(x) / 2) / SAMPLE_RATE)
            pause = np.zeros(int(rng.uniform(0.6, 1.6) * SAMPLE_RATE), np.float32)
            parts += [x, pause]
            pos += len(x) + len(pause)
        grid = TimeGrid.for_duration(pos / SAMPLE_RATE)
        blocks = iter_blocks([np.concatenate(parts)], grid.n_steps, grid.step)
        feats = np.concatenate([featurizer.block(b)["ser.features"] for b in blocks])
        rows = np.array([feats[grid.index(c)] for c in centres])
        out[order] = rows
        np.save(file, out[idx])
        logger.info("ser context features: speaker %s", speaker)
    return out


def speaker_folds(items: Sequence[Item], n_folds: int, seed: int) -> np.ndarray:
    """Fold index per item: each dataset's speakers are shuffled (seeded) and dealt round-robin."""
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(items), dtype=int)
    speakers = np.array([it.speaker for it in items])
    datasets = np.array([it.dataset for it in items])
    for d in sorted(set(datasets)):
        names = sorted(set(speakers[datasets == d]))
        for i, name in enumerate(rng.permutation(names)):
            folds[(speakers == name) & (datasets == d)] = i % n_folds
    return folds


def _sample_weights(datasets: np.ndarray) -> np.ndarray:
    """Each dataset weighs ~sqrt(its size): big corpora lead, small ones are not drowned out."""
    w = np.ones(len(datasets))
    for d in set(datasets):
        w[datasets == d] = 1.0 / np.sqrt(np.sum(datasets == d))
    return w


def fit_head(
    x: np.ndarray,
    items: Sequence[Item],
    l2: float = DEFAULT_L2,
    x_context: np.ndarray | None = None,
) -> LogisticHead:
    """A `LogisticHead` fitted on per-speaker-normalised features of ``items``.

    With ``x_context`` (see `context_features`) every clip is a training row twice: alone and as
    analysis sees it, each set normalised against its own per-speaker baseline.
    """
    mean, std = x.mean(0), x.std(0) + 1e-6
    speakers = np.array([it.speaker for it in items])
    z = normalize_groups(x, speakers, mean, std)
    y = np.array([CLASSES.index(it.label) for it in items])
    weights = _sample_weights(np.array([it.dataset for it in items]))
    if x_context is not None:
        z = np.concatenate([z, normalize_groups(x_context, speakers, mean, std)])
        y, weights = np.concatenate([y, y]), np.concatenate([weights, weights])
    w, b = fit_logistic(z, y, len(CLASSES), l2=l2, sample_weight=weights)
    meta = {
        "datasets": sorted({it.dataset for it in items}),
        "n": len(items),
        "l2": l2,
        "context": x_context is not None,
        **backbone.config(),
    }
    return LogisticHead(CLASSES, w, b, mean, std, meta)


def head_probs(head: LogisticHead, x: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
    """Head probabilities with each speaker normalised against their own clips (as ``eval`` does)."""
    return head.proba(normalize_groups(x, np.asarray(speakers), head.mean, head.std))


def cross_validate(
    x: np.ndarray,
    items: Sequence[Item],
    n_folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    l2: float = DEFAULT_L2,
    x_context: np.ndarray | None = None,
) -> dict:
    """Speaker-grouped CV report (see `egvs.ser.evaluate.report`) over out-of-fold predictions.

    Scored on the held-out speakers' clips alone (as ``egvs ser eval`` scores them).
    """
    folds = speaker_folds(items, n_folds, seed)
    probs = np.zeros((len(items), len(CLASSES)))
    for k in range(n_folds):
        test = folds == k
        if not test.any() or test.all():
            continue
        train = [it for it, f in zip(items, folds, strict=True) if f != k]
        head = fit_head(x[~test], train, l2, None if x_context is None else x_context[~test])
        probs[test] = head_probs(
            head, x[test], [it.speaker for it, t in zip(items, test, strict=True) if t]
        )
        logger.info("ser cv: fold %d/%d", k + 1, n_folds)
    return report([it.label for it in items], [it.dataset for it in items], probs)


def train(
    items: Sequence[Item],
    out: Path,
    *,
    seed: int = 0,
    l2: float = DEFAULT_L2,
    n_folds: int = DEFAULT_FOLDS,
    cv: bool = True,
    context: bool = True,
) -> tuple[LogisticHead, dict | None]:
    """CV (optional), then the head on all items, written to ``out/ser_head.npz`` (+ ``cv.json``)."""
    x = clip_features(items)
    x_context = context_features(items) if context else None
    result = cross_validate(x, items, n_folds, seed, l2, x_context) if cv else None
    head = fit_head(x, items, l2, x_context)
    head.meta["seed"] = seed
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    head.save(out / "ser_head.npz")
    if result is not None:
        (out / "cv.json").write_text(json.dumps(result, indent=2))
    return head, result
