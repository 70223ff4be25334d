"""Who speaks when: GE2E speaker embeddings per timeline step and speaker turns, without torch.

The encoder is Resemblyzer's pretrained GE2E voice encoder (``resemblyzer/pretrained.pt`` from the
``resemblyzer`` wheel, Apache-2.0: a 3-layer LSTM over 40-channel power mel frames, the last
hidden state through Linear + ReLU, L2-normalised). Only the weights file is read (by the pickle
reader of `egvs.features.torch_pickle`, which executes no code); the ``resemblyzer`` package itself
is never imported (it imports torch, webrtcvad and librosa). The mel filterbank reproduces
``librosa.feature.melspectrogram`` as Resemblyzer calls it, and the LSTM runs in numpy, batched
over all of a block's windows at once (only the 160-frame time loop is Python).

`SpeakerEncoder.embed_steps` embeds a 1.6 s window (Resemblyzer's partial utterance) centred on
voiced timeline steps; `assign_speakers` clusters those embeddings (average-linkage, cosine
distance, a distance threshold instead of a speaker count) and smooths the result into turns.
"""

from __future__ import annotations

import heapq
from functools import cached_property
from pathlib import Path

import numpy as np

from egvs.features.audio_blocks import AudioBlock
from egvs.media.decode import SAMPLE_RATE
from egvs.model_files import packaged
from egvs.ser.mel import mel_filterbank as slaney_mel_filterbank

N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s partial utterance
HIDDEN = 256
DIM = 256
LAYERS = 3
TARGET_DBFS = -30.0  # Resemblyzer normalises its training audio to this level
MAX_GAIN_DB = 50.0  # at most this much gain when levelling a window (near-silence stays quiet)
VOICED_MIN = 0.5  # steps with a lower voiced share get no embedding and no speaker
STRIDE = 2  # embed every STRIDE-th voiced step, the others copy a neighbour (`SpeakerEncoder`)
BATCH = 64  # windows per LSTM batch (bounds memory: ~40 MB of gates at 64)

# Average-linkage cosine-distance threshold: chosen on the tuning half of benchmarks/diarization.py.
DISTANCE_THRESHOLD = 0.45
MIN_TURN_SECONDS = 2.0  # shorter runs of one speaker join a neighbouring turn
MIN_SPEAKER_SECONDS = 5.0  # a cluster with less voiced time is not a speaker: its steps move
MAX_CLUSTERED = 3000  # voiced steps clustered directly; beyond, a subsample and nearest centroid

PACKAGE = "resemblyzer==0.1.4"


def model_path() -> Path:
    """The wheel's ``pretrained.pt``, found without importing the package."""
    return packaged("resemblyzer")


def read_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """The ``model_state`` tensors of Resemblyzer's checkpoint (which also holds ``step`` and
    ``optimizer_state``) as numpy arrays, through the code-free torch reader."""
    from egvs.features.torch_pickle import load_state_dict

    return load_state_dict(path, key="model_state")


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(1 + n_fft // 2, n_mels) Slaney filters, as Resemblyzer gets them from librosa."""
    return slaney_mel_filterbank(sr, n_fft, n_mels).T


_FILTERS = mel_filterbank()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def mel_frames(samples: np.ndarray, first: int, last: int) -> np.ndarray:
    """Power mel frames ``first..last-1`` (n, 40) of ``samples`` (no log).

    Frame ``j`` is centred on sample ``j * HOP`` (librosa's ``center=True``), audio outside
    ``samples`` counts as zeros (librosa's ``pad_mode="constant"``). The whole signal is
    ``mel_frames(x, 0, 1 + len(x) // HOP)``, which is ``librosa.feature.melspectrogram(y=x,
    sr=16000, n_fft=400, hop_length=160, n_mels=40).T``.
    """
    a = first * HOP - N_FFT // 2
    b = (last - 1) * HOP + N_FFT // 2
    seg = samples[max(a, 0) : max(min(b, len(samples)), 0)].astype(np.float32)
    if a < 0 or b > len(samples):
        pad_left = min(max(-a, 0), b - a)
        seg = np.concatenate(
            [
                np.zeros(pad_left, np.float32),
                seg,
                np.zeros(b - a - pad_left - len(seg), np.float32),
            ]
        )
    frames = np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::HOP]
    spec = np.fft.rfft(frames * _WINDOW, axis=1)
    power = spec.real**2 + spec.imag**2
    return (power @ _FILTERS).astype(np.float32)


def mel_spectrogram(audio: np.ndarray) -> np.ndarray:
    """Resemblyzer's ``wav_to_mel_spectrogram``: (1 + len // 160, 40) power mel frames."""
    return mel_frames(audio, 0, 1 + len(audio) // HOP)


def _level_gain(audio: np.ndarray) -> float:
    """Gain (power ratio) that brings ``audio`` to `TARGET_DBFS` RMS, at most `MAX_GAIN_DB`."""
    power = float(np.mean(np.square(audio, dtype=np.float64))) if len(audio) else 0.0
    db = 10 * np.log10(power + 1e-20)
    return float(10 ** (min(TARGET_DBFS - db, MAX_GAIN_DB) / 10))


class SpeakerEncoder:
    """Resemblyzer's GE2E voice encoder in numpy: 256-d L2-normalised speaker embeddings.

    ``stride``: `embed_steps` runs the LSTM on every ``stride``-th voiced step (on the global
    step index, so blocks agree) and gives the others the nearest embedded step of the same
    voiced run; the 1.6 s windows of neighbouring steps overlap by 1.1 s, and the LSTM is nearly
    the whole cost (about 4.5-6 ms per window on one core, ~0.65 CPU-s per voiced minute at
    stride 1, ~0.38 at stride 2).
    """

    def __init__(self, weights: Path | None = None, stride: int = STRIDE) -> None:
        self.weights_path = Path(weights) if weights else model_path()
        self.stride = max(int(stride), 1)

    def config(self) -> dict:
        return {"speaker": "resemblyzer-ge2e", "package": PACKAGE, "stride": self.stride}

    @cached_property
    def params(self) -> dict:
        """Per layer (W_ih^T, W_hh^T, bias) with gates reordered to (i, f, o, g) and the sigmoid
        gates' rows halved, so one ``tanh`` gives all four: sigmoid(x) = (1 + tanh(x / 2)) / 2."""
        state = read_checkpoint(self.weights_path)
        order = np.concatenate(
            [
                np.arange(0, 2 * HIDDEN),
                np.arange(3 * HIDDEN, 4 * HIDDEN),
                np.arange(2 * HIDDEN, 3 * HIDDEN),
            ]
        )
        scale = np.concatenate([np.full(3 * HIDDEN, 0.5), np.ones(HIDDEN)]).astype(np.float32)
        layers = []
        for k in range(LAYERS):
            w_ih = state[f"lstm.weight_ih_l{k}"][order] * scale[:, None]
            w_hh = state[f"lstm.weight_hh_l{k}"][order] * scale[:, None]
            bias = (state[f"lstm.bias_ih_l{k}"] + state[f"lstm.bias_hh_l{k}"])[order] * scale
            layers.append(
                (
                    np.ascontiguousarray(w_ih.T, dtype=np.float32),
                    np.ascontiguousarray(w_hh.T, dtype=np.float32),
                    bias.astype(np.float32),
                )
            )
        return {
            "layers": layers,
            "linear_w": np.ascontiguousarray(state["linear.weight"].T, dtype=np.float32),
            "linear_b": state["linear.bias"].astype(np.float32),
        }

    def embed_mels(self, mels: np.ndarray) -> np.ndarray:
        """(n, 256) embeddings of (n, frames, 40) power mel windows (Resemblyzer's ``forward``)."""
        mels = np.asarray(mels, dtype=np.float32)
        out = np.zeros((len(mels), DIM), dtype=np.float32)
        for a in range(0, len(mels), BATCH):
            out[a : a + BATCH] = self._forward(mels[a : a + BATCH])
        return out

    def _forward(self, mels: np.ndarray) -> np.ndarray:
        p = self.params
        n, steps, _ = mels.shape
        x = np.ascontiguousarray(mels.transpose(1, 0, 2))  # time-major: (T, n, 40)
        for k, (w_ih, w_hh, bias) in enumerate(p["layers"]):
            last = k == LAYERS - 1
            # The input projection of every time step in one matrix product.
            pre = (x.reshape(steps * n, -1) @ w_ih).reshape(steps, n, 4 * HIDDEN)
            pre += bias
            hs = None if last else np.empty((steps, n, HIDDEN), dtype=np.float32)
            h = np.zeros((n, HIDDEN), dtype=np.float32)
            c = np.zeros((n, HIDDEN), dtype=np.float32)
            tmp = np.empty((n, HIDDEN), dtype=np.float32)
            for t in range(steps):
                gates = pre[t]
                if t:
                    gates += h @ w_hh
                np.tanh(gates, out=gates)
                sig = gates[:, : 3 * HIDDEN]
                sig *= 0.5
                sig += 0.5
                c *= gates[:, HIDDEN : 2 * HIDDEN]  # forget
                np.multiply(gates[:, :HIDDEN], gates[:, 3 * HIDDEN :], out=tmp)  # input * cell
                c += tmp
                np.tanh(c, out=tmp)
                h = np.multiply(gates[:, 2 * HIDDEN : 3 * HIDDEN], tmp)  # output
                if hs is not None:
                    hs[t] = h
            if hs is not None:  # the next layer reads this one's outputs
                x = hs
        e = np.maximum(h @ p["linear_w"] + p["linear_b"], 0.0)
        norm = np.linalg.norm(e, axis=1, keepdims=True)
        return (e / np.maximum(norm, 1e-12)).astype(np.float32)

    def embed_clip(self, audio: np.ndarray, rate: float = 1.3) -> np.ndarray:
        """(256,) embedding of a whole clip: the L2-normalised mean of its 1.6 s partials.

        As Resemblyzer's ``embed_utterance`` (partials every ``1 / rate`` s, the last one kept
        when it covers at least 75%), on the clip levelled to -30 dBFS, without its silence trim.
        """
        audio = np.asarray(audio, dtype=np.float32)
        n_frames = int(np.ceil((len(audio) + 1) / HOP))
        frame_step = max(int(round(SAMPLE_RATE / rate / HOP)), 1)
        starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + frame_step + 1), frame_step))
        coverage = (len(audio) - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
        if coverage < 0.75 and len(starts) > 1:
            starts = starts[:-1]
        gain = _level_gain(audio)
        end = (starts[-1] + PARTIAL_FRAMES) * HOP
        if end > len(audio):
            audio = np.pad(audio, (0, end - len(audio)))
        mel = mel_spectrogram(audio) * gain
        windows = np.stack([mel[s : s + PARTIAL_FRAMES] for s in starts])
        mean = self.embed_mels(windows).mean(0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)

    def embed_steps(self, block: AudioBlock, voiced: np.ndarray) -> np.ndarray:
        """(n_steps, 256) float32: the embedding of a 1.6 s window centred on each step of ``block``.

        Steps whose voiced share is under `VOICED_MIN` get zeros and cost nothing. Each window is
        levelled to -30 dBFS RMS (the encoder's input is a power mel, so level would otherwise
        shift the embedding). Every ``stride``-th voiced step is embedded; the others copy the
        nearest embedded step of the same voiced run (each run has at least one embedded step).
        """
        if block.sample_rate != SAMPLE_RATE:
            raise ValueError(f"speaker embeddings need {SAMPLE_RATE} Hz audio")
        n = block.n_steps
        out = np.zeros((n, DIM), dtype=np.float32)
        voiced = np.asarray(voiced, dtype=np.float64)[:n]
        is_voiced = np.zeros(n, dtype=bool)
        is_voiced[: len(voiced)] = voiced >= VOICED_MIN
        if not is_voiced.any():
            return out
        runs = _runs(is_voiced)
        chosen = is_voiced & ((block.first_step + np.arange(n)) % self.stride == 0)
        for a, b in runs:
            if not chosen[a:b].any():
                chosen[(a + b - 1) // 2] = True
        sel = np.flatnonzero(chosen)
        centres = block.context + (sel + 0.5) * block.step
        starts = np.round(centres * SAMPLE_RATE / HOP).astype(int) - PARTIAL_FRAMES // 2
        first, last = int(starts.min()), int(starts.max()) + PARTIAL_FRAMES
        mel = mel_frames(block.samples, first, last)
        idx = (starts - first)[:, None] + np.arange(PARTIAL_FRAMES)[None, :]
        gains = np.array(
            [
                _level_gain(block.samples[max(s * HOP, 0) : (s + PARTIAL_FRAMES) * HOP])
                for s in starts
            ],
            dtype=np.float32,
        )
        out[sel] = self.embed_mels(mel[idx] * gains[:, None, None])
        _fill(out, chosen, runs)
        return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _fill(emb: np.ndarray, chosen: np.ndarray, runs: list[tuple[int, int]]) -> None:
    """Give each unchosen step of a run the embedding of the nearest chosen step (in place).

    Ties go to the earlier step. A copy, not an interpolation: every row stays the embedding of
    a real 1.6 s window centred within ``stride / 2`` steps, so the clustering sees one kind of
    point (interpolated rows, smoother than real ones, clustered worse in benchmarks/diarization.py).
    """
    for a, b in runs:
        known = np.flatnonzero(chosen[a:b]) + a
        for i in range(a, b):
            if not chosen[i]:
                emb[i] = emb[known[np.argmin(2 * np.abs(known - i) + (known > i))]]


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _cluster(x: np.ndarray, threshold: float, max_clustered: int) -> np.ndarray:
    """Cluster labels (0..k-1, any order) of unit rows ``x``: average linkage on cosine distance."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(x) == 1:
        return np.zeros(1, dtype=int)
    if len(x) <= max_clustered:
        z = linkage(x.astype(np.float64), method="average", metric="cosine")
        return fcluster(z, t=threshold, criterion="distance") - 1
    # Too many for an O(n^2) linkage: cluster an even subsample, then nearest centroid for all.
    pick = np.unique(np.linspace(0, len(x) - 1, max_clustered).round().astype(int))
    sub = _cluster(x[pick], threshold, max_clustered)
    centroids = _normalise(np.stack([x[pick][sub == k].mean(0) for k in range(sub.max() + 1)]))
    return np.argmax(x @ centroids.T, axis=1)


def _smooth(labels: np.ndarray, x: np.ndarray, min_len: int) -> np.ndarray:
    """Merge runs (of consecutive voiced steps, pauses ignored) shorter than ``min_len`` steps.

    The shortest run goes first (ties: the earlier); it joins the neighbouring run whose mean
    embedding is closer (cosine), and runs that then carry the same label fuse.
    """
    bounds = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(labels)]])
    n = len(starts)
    lab = [int(labels[s]) for s in starts]
    size = (ends - starts).tolist()
    sums = [x[s:e].sum(0) for s, e in zip(starts, ends, strict=True)]
    prev = list(range(-1, n - 1))
    nxt = list(range(1, n + 1))
    nxt[-1] = -1
    alive = [True] * n
    heap = [(size[i], i) for i in range(n) if size[i] < min_len]
    heapq.heapify(heap)
    owner = list(range(n))  # run -> run it was merged into (union-find, path-halved)

    def find(i: int) -> int:
        while owner[i] != i:
            owner[i] = owner[owner[i]]
            i = owner[i]
        return i

    def cos(a: int, b: int) -> float:
        return float(sums[a] @ sums[b]) / max(
            float(np.linalg.norm(sums[a]) * np.linalg.norm(sums[b])), 1e-12
        )

    def absorb(keep: int, gone: int) -> None:
        size[keep] += size[gone]
        sums[keep] = sums[keep] + sums[gone]
        alive[gone] = False
        owner[gone] = keep
        p, q = prev[gone], nxt[gone]  # unlink `gone`
        if p >= 0:
            nxt[p] = q
        if q >= 0:
            prev[q] = p

    while heap:
        length, i = heapq.heappop(heap)
        if not alive[i] or length != size[i] or size[i] >= min_len:
            continue
        p, q = prev[i], nxt[i]
        if p < 0 and q < 0:
            break  # the only run left
        target = p if p >= 0 and (q < 0 or cos(i, p) >= cos(i, q)) else q
        absorb(target, i)
        # Fuse the target with its other neighbour when they now carry the same label (they can
        # only both exist around `i`, whose label differed from both).
        p, q = prev[target], nxt[target]
        for other in (p, q):
            if other >= 0 and lab[other] == lab[target]:
                absorb(target, other)
        if size[target] < min_len:
            heapq.heappush(heap, (size[target], target))

    run_label = [lab[find(i)] for i in range(n)]
    return np.repeat(np.array(run_label, dtype=int), ends - starts)


def _absorb_small(x: np.ndarray, labels: np.ndarray, min_steps: int) -> np.ndarray:
    """Dissolve clusters under ``min_steps`` steps, smallest first (ties: lowest label): each of
    their steps moves to the nearest centroid of the other clusters. At least one cluster stays."""
    ks, inverse = np.unique(labels, return_inverse=True)
    sums = np.zeros((len(ks), x.shape[1]))
    np.add.at(sums, inverse, x)
    counts = np.bincount(inverse, minlength=len(ks))
    alive = np.ones(len(ks), dtype=bool)
    while alive.sum() > 1:
        live = np.flatnonzero(alive)
        i = live[np.argmin(counts[live])]
        if counts[i] >= min_steps:
            break
        alive[i] = False
        others = np.flatnonzero(alive)
        members = np.flatnonzero(inverse == i)
        target = others[np.argmax(x[members] @ _normalise(sums[others]).T, axis=1)]
        inverse[members] = target
        np.add.at(sums, target, x[members])
        counts += np.bincount(target, minlength=len(ks))
    return ks[inverse]


def assign_speakers(
    embeddings: np.ndarray,
    voiced: np.ndarray,
    step: float,
    threshold: float = DISTANCE_THRESHOLD,
    min_turn: float = MIN_TURN_SECONDS,
    min_speaker: float = MIN_SPEAKER_SECONDS,
    max_clustered: int = MAX_CLUSTERED,
) -> np.ndarray:
    """Speaker id per step (int, -1 where ``voiced`` < 0.5 or there is no embedding).

    Average-linkage agglomerative clustering of the voiced steps' embeddings on cosine distance,
    cut at ``threshold`` (no fixed number of speakers); over ``max_clustered`` voiced steps an even
    subsample is clustered and every step goes to its nearest cluster centroid. Runs of one
    speaker shorter than ``min_turn`` seconds of voiced steps (pauses do not break a run) join the
    more similar neighbouring turn; a cluster left with under ``min_speaker`` seconds is dissolved
    into the nearest other clusters (step by step) and the turns are smoothed again. Ids are
    numbered by first appearance. Deterministic.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    voiced = np.asarray(voiced, dtype=np.float64)[: len(emb)]
    ids = np.full(len(emb), -1, dtype=int)
    norms = np.linalg.norm(emb, axis=1)
    use = np.zeros(len(emb), dtype=bool)
    use[: len(voiced)] = voiced >= VOICED_MIN
    use &= norms > 1e-6
    rows = np.flatnonzero(use)
    if len(rows) == 0:
        return ids
    x = emb[rows] / norms[rows, None]
    labels = _cluster(x, threshold, max_clustered)
    min_len = max(int(round(min_turn / step)), 1)
    labels = _smooth(labels, x, min_len)
    labels = _smooth(_absorb_small(x, labels, int(round(min_speaker / step))), x, min_len)
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    renumber = np.empty(labels.max() + 1, dtype=int)
    renumber[np.unique(labels)[order]] = np.arange(len(order))
    ids[rows] = renumber[labels]
    return ids


def speaker_summary(ids: np.ndarray, step: float) -> list[dict]:
    """``[{"id": 0, "speech_seconds": 12.5}, ...]``: each speaker's voiced time, by id."""
    ids = np.asarray(ids)
    return [
        {"id": int(k), "speech_seconds": round(float((ids == k).sum() * step), 3)}
        for k in np.unique(ids[ids >= 0])
    ]
