"""The head's multi-task MLP (``egvs ser train``, ``--hidden 256`` by default), trained with PyTorch.

Inference is numpy (`egvs.ser.head.SerHead.trunk`); torch is only needed to train it.

One hidden ReLU layer shared by the emotion, arousal and valence tasks, each with its own softmax
output; every row carries the targets it has (a valence-only clip trains the trunk and the
valence output). Dropout on the input and the hidden layer, AdamW, a fixed number of epochs, one
thread and a fixed seed, so a run is reproducible. An adversarial task (``reversed_tasks``, e.g. the
sentence read) trains its own output normally while the trunk gets its gradient reversed and
scaled, so the trunk unlearns what that output can read from it. Measured against the linear head
(``--hidden 0``, docs/speech_emotion.md): better on clips of held-out speakers and corpora and on
the moments benchmark's videos, so the shipped head is this one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from egvs.errors import SetupError

HIDDEN = 256
EPOCHS = 16  # of 8, 16 and 24 (8-fold CV, held-out RAVDESS/EmoDB): 76.0/87.7, 77.1/90.0, 76.2/89.5
MIN_STEPS = 600  # small corpora get more epochs: at least this many optimiser steps
BATCH = 256
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 0.05
DROPOUT_INPUT = 0.2
DROPOUT_HIDDEN = 0.3


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise SetupError(
            "training the speech-emotion head needs PyTorch: pip install 'egvs[train]' "
            "(or --hidden 0 for the linear head, which does not)"
        ) from exc
    return torch


def reversed_gradient(h, strength: float):
    """``h``'s values, with the gradient that flows back through them reversed and scaled by
    ``strength``: an adversary reading them learns normally while what made ``h`` unlearns it."""
    return h.detach() + strength * (h.detach() - h)


def train_mlp(
    n: int,
    in_dim: int,
    targets: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]],
    inputs: Callable,
    hidden: int = HIDDEN,
    seed: int = 0,
    extra_params: Sequence = (),
    before_epoch: Callable[[], None] | None = None,
    reversed_tasks: Mapping[str, float] | None = None,
    label_sets: Mapping[str, np.ndarray] | None = None,
):
    """The shared trunk and one output per task (torch modules, in ``targets``' order), trained.

    ``reversed_tasks[name] = strength``: that task's output learns from the trunk's features,
    and the trunk is pushed the other way (its gradient times ``-strength``: a gradient reversal).

    ``inputs(idx)`` gives the trunk's input rows for a batch of row indices (a tensor); it may
    hold parameters of its own (``extra_params``, trained with the head: a pooling, a layer
    weighting), and ``before_epoch`` runs before every epoch. See `fit_mlp` for ``targets``.

    ``label_sets[name]`` (j, n_classes) bool: a target ``n_classes + j`` of that task means "one
    of the classes of set j" (a partial label), trained on the set's total probability.
    """
    torch = _torch()
    torch.manual_seed(seed)
    names = list(targets)
    y = np.full((len(names), n), -1, dtype=np.int64)
    w = np.zeros((len(names), n), dtype=np.float32)
    for i, name in enumerate(names):
        rows, labels, weights, _ = targets[name]
        y[i, rows] = labels
        w[i, rows] = weights / weights.mean()
    trunk = torch.nn.Sequential(
        torch.nn.Dropout(DROPOUT_INPUT),
        torch.nn.Linear(in_dim, hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(DROPOUT_HIDDEN),
    )
    outs = torch.nn.ModuleList(torch.nn.Linear(hidden, targets[nm][3]) for nm in names)
    params = list(trunk.parameters()) + list(outs.parameters()) + list(extra_params)
    opt = torch.optim.AdamW(params, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    yt, wt = torch.from_numpy(y), torch.from_numpy(w)
    generator = torch.Generator().manual_seed(seed)
    batches = -(-n // BATCH)
    reversal = [(reversed_tasks or {}).get(name, 0.0) for name in names]
    # per task, the log of each target's allowed classes: a class alone, or a set (`label_sets`)
    allowed = []
    for name in names:
        k = targets[name][3]
        sets = np.asarray((label_sets or {}).get(name, np.zeros((0, k))), bool).reshape(-1, k)
        table = np.concatenate([np.eye(k, dtype=bool), sets])
        allowed.append(torch.from_numpy(np.where(table, 0.0, -np.inf).astype(np.float32)))
    for _ in range(max(EPOCHS, -(-MIN_STEPS // batches))):
        if before_epoch is not None:
            before_epoch()
        for idx in torch.randperm(n, generator=generator).split(BATCH):
            h = trunk(inputs(idx))
            loss = torch.zeros(())
            for i, head in enumerate(outs):
                seen = reversed_gradient(h, reversal[i]) if reversal[i] else h
                # cross-entropy with the total probability of the classes the target allows
                log_p = torch.nn.functional.log_softmax(head(seen), dim=1)
                ce = -(log_p + allowed[i][yt[i, idx].clamp(min=0)]).logsumexp(1)
                loss = loss + (ce * wt[i, idx]).sum() / max(float(wt[i, idx].sum()), 1.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return trunk, outs


def fit_mlp(
    z: np.ndarray,
    targets: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]],
    hidden: int = HIDDEN,
    seed: int = 0,
    reversed_tasks: Mapping[str, float] | None = None,
    members: int = 1,
    label_sets: Mapping[str, np.ndarray] | None = None,
    member_inputs: Sequence[slice] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Trunk (weights (d, hidden), bias) and per task (weights (hidden, k), bias).

    ``targets[name] = (rows, y, weights, n_classes)``: the rows of ``z`` the task has a target
    for, the class index of each, its sample weight (normalised to mean 1 within the task).
    ``reversed_tasks`` are adversaries (see `train_mlp`); only the trunk they shaped is returned,
    not their outputs. ``members`` > 1 trains that many MLPs (seeds ``100 * seed + m``) and
    averages their logits, returned as one MLP with ``members`` times the hidden units: the
    runtime head is unchanged, only wider. ``member_inputs[m]`` (default: all) are the columns
    of ``z`` member ``m`` reads; its trunk weights on the others are zero.
    """
    if members == 1 and member_inputs is None:
        return _fit_one(z, targets, hidden, seed, reversed_tasks, label_sets)
    fits = []
    for m, columns in enumerate(member_inputs or [slice(None)] * members):
        (weights, bias), outputs = _fit_one(
            z[:, columns], targets, hidden, 100 * seed + m, reversed_tasks, label_sets
        )
        full = np.zeros((z.shape[1], hidden), np.float32)
        full[columns] = weights
        fits.append(((full, bias), outputs))
    members = len(fits)
    trunk = (np.concatenate([f[0][0] for f in fits], 1), np.concatenate([f[0][1] for f in fits]))
    tasks = {
        name: (
            np.concatenate([f[1][name][0] for f in fits], 0) / members,
            np.mean([f[1][name][1] for f in fits], axis=0),
        )
        for name in fits[0][1]
    }
    return trunk, tasks


def _fit_one(
    z: np.ndarray,
    targets: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]],
    hidden: int,
    seed: int,
    reversed_tasks: Mapping[str, float] | None,
    label_sets: Mapping[str, np.ndarray] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
    torch = _torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        zt = torch.from_numpy(np.ascontiguousarray(z, np.float32))
        trunk, outs = train_mlp(
            len(z),
            z.shape[1],
            targets,
            lambda idx: zt[idx],
            hidden,
            seed,
            reversed_tasks=reversed_tasks,
            label_sets=label_sets,
        )
        linear = trunk[1]
        to_np = lambda t: t.detach().numpy().astype(np.float32)  # noqa: E731
        return (to_np(linear.weight).T.copy(), to_np(linear.bias)), {
            name: (to_np(head.weight).T.copy(), to_np(head.bias))
            for name, head in zip(targets, outs, strict=True)
            if name not in (reversed_tasks or {})
        }
    finally:
        torch.set_num_threads(threads)
