"""The multi-source EGVS network (MSVA-style), in PyTorch: imported only by training and export.

Each source (visual, motion, emotion, ...) is projected to a common width and passes through its
own self-attention over the whole video, so every source decides for itself which moments relate;
the per-source results are fused (sum, concat or learned per-step attention over sources) and an
MLP regresses per-step importance in [0, 1]. One source gives the visual-only MSVA baseline.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from egvs.scoring.model_config import ModelConfig


class SelfAttention(nn.Module):
    """Multi-head self-attention over all steps of a video, with a padding mask for batches.

    Uses torch's fused scaled-dot-product kernel (faster on CPU than explicit matrix products); the
    exporter writes it as plain ONNX ops, so inference needs nothing beyond onnxruntime.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, pad: Tensor | None = None) -> Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        keep = None if pad is None else ~pad[:, None, None, :]  # padded steps are never attended to
        return self.out(
            F.scaled_dot_product_attention(q, k, v, attn_mask=keep).transpose(1, 2).reshape(b, t, d)
        )


class SourceEncoder(nn.Module):
    """Projection + self-attention (residual, layer-normed) for one feature source.

    Dropout sits on the attention output, not on the inputs or the (steps x steps) attention
    weights: those masks cost more CPU time than the matrix products themselves.
    """

    def __init__(self, dim_in: int, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, hidden)
        self.attn = SelfAttention(hidden, heads)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x: Tensor, pad: Tensor | None = None) -> Tensor:
        h = self.proj(x)
        return self.norm(h + self.drop(self.attn(h, pad)))


class MultiSourceModel(nn.Module):
    """``forward([x_source, ...], pad) -> (batch, steps)`` importance in [0, 1].

    Inputs are normalised feature matrices (batch, steps, dim) in ``config.sources`` order; ``pad``
    (batch, steps) is True on padding steps.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.encoders = nn.ModuleList(
            SourceEncoder(config.dims[s], h, config.heads, config.dropout) for s in config.sources
        )
        n = len(config.sources)
        self.merge = nn.Linear(n * h, h) if config.fusion == "concat" else None
        self.gate = nn.Linear(h, 1) if config.fusion == "attention" else None
        self.regressor = nn.Sequential(
            nn.Linear(h, h),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.LayerNorm(h),
            nn.Linear(h, 1),
            nn.Sigmoid(),
        )

    def forward(self, inputs: list[Tensor], pad: Tensor | None = None) -> Tensor:
        encoded = [enc(x, pad) for enc, x in zip(self.encoders, inputs, strict=True)]
        return self.regressor(self._fuse(encoded)).squeeze(-1)

    def _fuse(self, encoded: list[Tensor]) -> Tensor:
        if self.merge is not None:
            return self.merge(torch.cat(encoded, dim=-1))
        stacked = torch.stack(encoded, dim=2)  # (batch, steps, sources, hidden)
        if self.gate is not None:  # per step, how much each source counts
            return (self.gate(stacked).softmax(dim=2) * stacked).sum(dim=2)
        return stacked.sum(dim=2)


class OnnxWrapper(nn.Module):
    """One positional input per source (no padding): the signature of the exported graph."""

    def __init__(self, model: MultiSourceModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: Tensor) -> Tensor:
        return self.model(list(inputs))
