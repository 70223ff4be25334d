"""The trainable EGVS model: multi-source attention over visual, motion and emotion features.

Training needs the ``train`` extra (PyTorch) and lives in `egvs.models.training`. What the product
needs to use a trained model lives with scoring, below this package: the model directory format
(`egvs.scoring.model_config`) and the onnxruntime scorer (`egvs.scoring.onnx.load_scorer`).
Importing this package never imports torch.
"""

from egvs.scoring.model_config import ExportedModel, ModelConfig, Normalization, parse_sources

__all__ = ["ExportedModel", "ModelConfig", "Normalization", "parse_sources"]
