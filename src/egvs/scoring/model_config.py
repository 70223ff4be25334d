"""What a trained EGVS model is: sources, sizes, fusion and input normalisation (no torch here).

The same JSON travels with the ONNX file, so inference (onnxruntime only) knows which timeline
sources to read, in which order, and how to normalise them exactly as in training.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from egvs.atomic import atomic_write
from egvs.errors import InputError, SetupError

FORMAT = "egvs.model/1"
FUSIONS = ("sum", "concat", "attention")
CONFIG_FILE = "config.json"
ONNX_FILE = "model.onnx"


@dataclass(frozen=True)
class Normalization:
    """Per-dimension z-score of one source, fitted on training steps only (no test leakage)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> Normalization:
        rows = np.asarray(rows, dtype=np.float64)
        std = rows.std(axis=0)
        # A constant dimension (e.g. a silent emotion channel) must not blow up to inf.
        return cls(
            rows.mean(axis=0).astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32)
        )

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            "mean": [round(float(v), 7) for v in self.mean],
            "std": [round(float(v), 7) for v in self.std],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Normalization:
        return cls(
            np.asarray(data["mean"], dtype=np.float32), np.asarray(data["std"], dtype=np.float32)
        )


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the multi-source model; ``sources`` order is the model's input order."""

    sources: tuple[str, ...]
    dims: dict[str, int]
    hidden: int = 128
    heads: int = 4
    fusion: str = "sum"
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("a model needs at least one source")
        if len(set(self.sources)) != len(self.sources):
            raise ValueError(f"duplicate sources in {self.sources}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        missing = [s for s in self.sources if s not in self.dims]
        if missing:
            raise ValueError(f"no dimension given for sources {missing}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["sources"] = list(self.sources)
        out["dims"] = {s: int(self.dims[s]) for s in self.sources}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return cls(
            sources=tuple(data["sources"]),
            dims={k: int(v) for k, v in data["dims"].items()},
            hidden=int(data["hidden"]),
            heads=int(data["heads"]),
            fusion=str(data["fusion"]),
            dropout=float(data["dropout"]),
        )


@dataclass
class ExportedModel:
    """The JSON that sits beside ``model.onnx``: architecture, normalisation and provenance."""

    model: ModelConfig
    normalization: dict[str, Normalization]
    training: dict = field(default_factory=dict)

    def save(self, directory: Path) -> Path:
        path = Path(directory) / CONFIG_FILE
        data = {
            "format": FORMAT,
            "onnx": ONNX_FILE,
            "model": self.model.to_dict(),
            "normalization": {s: self.normalization[s].to_dict() for s in self.model.sources},
            "training": self.training,
        }
        atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=1) + "\n"))
        return path

    @classmethod
    def load(cls, directory: Path) -> ExportedModel:
        path = Path(directory) / CONFIG_FILE
        if not path.is_file():
            raise SetupError(
                f"{directory} is not an EGVS model directory (no {CONFIG_FILE}); make one with 'egvs train'"
            )
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise SetupError(
                f"{path}: unsupported model format {data.get('format')!r} (expected {FORMAT})"
            )
        model = ModelConfig.from_dict(data["model"])
        norms = {s: Normalization.from_dict(data["normalization"][s]) for s in model.sources}
        return cls(model, norms, data.get("training", {}))


def parse_sources(text: str) -> tuple[str, ...]:
    """``"visual,emotion"`` or ``"visual+emotion"`` -> ``("visual", "emotion")``."""
    names = tuple(s.strip() for s in text.replace("+", ",").split(",") if s.strip())
    if not names:
        raise InputError(f"no source names in {text!r} (e.g. visual,emotion)")
    return names
