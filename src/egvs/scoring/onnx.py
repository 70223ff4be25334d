"""Score a timeline with an exported EGVS model: onnxruntime only, never torch.

This is what ``egvs summarize --model DIR`` / ``egvs analyze --model DIR`` use in place of the
training-free scorer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from egvs.errors import InputError, SetupError
from egvs.progress import logger
from egvs.scoring.model_config import ONNX_FILE, ExportedModel
from egvs.timeline import Timeline


class OnnxScorer:
    """A trained multi-source model behind the Scorer interface (``name``, ``config``, ``score``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.meta = ExportedModel.load(self.directory)
        onnx_path = self.directory / ONNX_FILE
        if not onnx_path.is_file():
            raise SetupError(f"{self.directory}: missing model.onnx (re-export with 'egvs train')")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.name = "egvs-model:" + "+".join(self.meta.model.sources)

    def config(self) -> dict:
        model = self.meta.model
        return {
            "kind": "trained",
            "path": str(self.directory),
            "sources": list(model.sources),
            "fusion": model.fusion,
            "hidden": model.hidden,
            "training": self.meta.training,
        }

    def score(self, timeline: Timeline) -> np.ndarray:
        """Per-step importance in [0, 1] from the timeline's sources."""
        feeds = {name: self._input(timeline, name)[None] for name in self.meta.model.sources}
        (importance,) = self.session.run(["importance"], feeds)
        return np.clip(importance[0], 0.0, 1.0).astype(np.float32)

    def _input(self, timeline: Timeline, name: str) -> np.ndarray:
        dim = self.meta.model.dims[name]
        norm = self.meta.normalization[name]
        matrix = timeline.sources.get(name)
        if matrix is None:
            # e.g. a video without an audio track: the training mean carries no evidence either way.
            logger.warning(
                "the model reads source %r, which this timeline lacks; using its training mean",
                name,
            )
            return np.zeros((timeline.n_steps, dim), dtype=np.float32)
        if matrix.shape[1] != dim:
            raise InputError(
                f"source {name!r} has {matrix.shape[1]} dimensions but the model in {self.directory} was "
                f"trained on {dim}; the feature extractor changed, retrain with 'egvs train'"
            )
        return norm.apply(matrix)


def load_scorer(directory: str | Path) -> OnnxScorer:
    """The scorer of a model directory written by ``egvs train`` (``config.json`` + ``model.onnx``)."""
    return OnnxScorer(Path(directory))
