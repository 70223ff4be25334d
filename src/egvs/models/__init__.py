"""The trainable EGVS model: multi-source attention over visual, motion and emotion features.

Training needs the ``train`` extra (PyTorch) and lives in `egvs.models.training`; inference needs
only onnxruntime: `load_scorer(DIR)` scores a timeline with a model exported by ``egvs train``.
Importing this package never imports torch.
"""

from egvs.models.config import ExportedModel, ModelConfig, Normalization, parse_sources
from egvs.models.scorer import OnnxScorer, load_scorer

__all__ = [
    "ExportedModel",
    "ModelConfig",
    "Normalization",
    "OnnxScorer",
    "load_scorer",
    "parse_sources",
]
