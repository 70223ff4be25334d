"""Export a trained network to ONNX plus its JSON config, the format ``load_scorer`` reads."""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path

import torch

from egvs.atomic import atomic_write
from egvs.models.network import MultiSourceModel, OnnxWrapper
from egvs.scoring.model_config import ONNX_FILE, ExportedModel

OPSET = 17


def export_model(model: MultiSourceModel, meta: ExportedModel, directory: Path) -> Path:
    """Write ``model.onnx`` (one input per source, dynamic number of steps) and ``config.json``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = model.config
    example = tuple(torch.zeros(1, 8, config.dims[s]) for s in config.sources)
    names = list(config.sources)
    # The exporter restores the wrapper's mode afterwards, recursively: a wrapper left in training
    # mode would switch the caller's model back to training (dropout on) behind its back.
    wrapper = OnnxWrapper(model).eval()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter needs no onnxscript and handles this small graph exactly; silence
        # its deprecation notice rather than pull in the dynamo exporter's dependencies.
        warnings.simplefilter("ignore")
        export = partial(
            torch.onnx.export,
            wrapper,
            example,
            input_names=names,
            output_names=["importance"],
            dynamic_axes={**{n: {1: "steps"} for n in names}, "importance": {1: "steps"}},
            opset_version=OPSET,
            dynamo=False,
        )
        atomic_write(directory / ONNX_FILE, lambda tmp: export(f=str(tmp)))
    meta.save(directory)
    return directory
