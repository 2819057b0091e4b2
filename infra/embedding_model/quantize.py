"""Int8 weights, and the two graphs ``functions/drift/onnx_embedder.py`` runs, over one weights file.

Why not ``onnxruntime.quantization.quantize_dynamic``: it scales each activation tensor as a whole,
so one token's outliers ([CLS], [SEP]) coarsen every other token, and a text's vector depends on
its batchmates. Measured on the 6,143 real texts: cosine to torch fp32 down to 0.951 (0.973 run one
at a time). Here each token row gets its own scale and zero point, each weight column its own scale:

- ``model.onnx``: every MatMul, and each attention's QKV projection, become
  ``QuantizeLinear`` (uint8, per row) + ``MatMulIntegerToFloat`` (int8 weights, per column); the
  attention itself runs in ``MultiHeadAttention``. Rows are asymmetric (the layer-norm and GELU
  outputs are one-sided), except the attention output's (symmetric, zero point 128: as close,
  and no correction term).
- ``model-short.onnx``: the fused float graph, its weights rebuilt from the same int8 values
  (``Cast`` + ``Mul``, which ONNX Runtime folds into constants when it loads the graph).

The word-embedding table is stored int8 with one scale per token (both graphs): 47 MB -> 12 MB.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

# No weight pair may reach a saturating sum: x86 CPUs without VNNI multiply uint8 x int8 through
# vpmaddubsw, which adds each aligned pair of products (k = 2j, 2j+1) into a saturating int16. With
# |q_2j| + |q_2j+1| <= 128 for each sign, 255 * 128 = 32640 < 32767: the integer products are exact
# on every x86 CPU, so the vectors measured here are the ones Lambda computes.
PAIR_LIMIT = 128
INLINE_BYTES = 1024  # smaller tensors stay in the graph files; the rest go to the shared weights file
ALIGNMENT = 64


def quantize_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 ``q`` and float32 ``scale`` per column with ``weight ~ q * scale``, symmetric, within
    ``PAIR_LIMIT`` for every aligned pair of rows."""
    rows = weight.shape[0]
    if rows % 2:
        raise ValueError(f"an even number of rows is needed for the pair bound, got {rows}")
    w = weight.astype(np.float64)
    pairs = w.reshape(rows // 2, 2, -1)
    same_sign = np.maximum(np.clip(pairs, 0, None).sum(1), np.clip(-pairs, 0, None).sum(1)).max(0)
    # (|a| + |b|) / scale <= PAIR_LIMIT - 1 keeps round(a / scale) + round(b / scale) <= PAIR_LIMIT.
    scale = np.maximum(np.maximum(np.abs(w).max(0) / 127, same_sign / (PAIR_LIMIT - 1)), 1e-12)
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    paired = q.astype(np.int32).reshape(rows // 2, 2, -1)
    worst = np.maximum(np.clip(paired, 0, None).sum(1), np.clip(-paired, 0, None).sum(1)).max()
    assert worst <= PAIR_LIMIT, worst
    return q, scale.astype(np.float32)


def quantize_table_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 ``q`` and float32 ``scale`` (one per row, shape (rows, 1)) with ``table ~ q * scale``."""
    scale = np.maximum(np.abs(table).max(axis=1, keepdims=True), 1e-12) / 127
    return np.clip(np.round(table / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


class _Graph:
    """The nodes of one rewritten graph; new initializers go into ``arrays``, shared by both graphs."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.nodes: list[Any] = []
        self.shapes: dict[int, str] = {}

    def const(self, name: str, value: Any, dtype: Any = np.float32) -> str:
        self.arrays.setdefault(name, np.asarray(value, dtype=dtype))
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str] | str, domain: str = "",
             attributes: Iterable[Any] = (), **attrs: Any) -> str:
        from onnx import helper

        outputs = [outputs] if isinstance(outputs, str) else outputs
        node = helper.make_node(op, inputs, outputs, name=outputs[0], domain=domain, **attrs)
        node.attribute.extend(attributes)
        self.nodes.append(node)
        return outputs[0]

    def output_shape(self, lead: str, cols: int) -> str:
        """The shape (leading dims of the input, ``cols``) a row-wise MatMul reshapes back to (one node per width)."""
        if cols not in self.shapes:
            self.shapes[cols] = self.node("Concat", [lead, self.const(f"shape.{cols}", [cols], np.int64)],
                                          f"shape.lead+{cols}", axis=0)
        return self.shapes[cols]

    def initializers(self) -> set[str]:
        """What the nodes read that no node computes."""
        computed = {out for node in self.nodes for out in node.output}
        return {name for node in self.nodes for name in node.input} & self.arrays.keys() - computed


def _dequantized(g: _Graph, name: str) -> None:
    """Nodes rebuilding float ``name`` from its int8 values and scales (folded when ONNX Runtime loads)."""
    from onnx import TensorProto

    g.node("Mul", [g.node("Cast", [f"{name}.q"], f"{name}.qf", to=TensorProto.FLOAT), f"{name}.scale"], name)


def _rowwise_matmul(g: _Graph, x: str, weight: str, out: str, lead: str, symmetric: bool) -> None:
    """``out = x @ weight`` with ``x`` quantized to uint8 per row and ``weight`` int8 per column."""
    from onnx import TensorProto

    rows, cols = g.arrays[f"{weight}.q"].shape
    p = f"{out}.rq"
    x2 = g.node("Reshape", [x, g.const(f"shape.-1x{rows}", [-1, rows], np.int64)], f"{p}.x2")
    top = g.node("ReduceMax", [x2], f"{p}.max", axes=[1], keepdims=1)
    bottom = g.node("ReduceMin", [x2], f"{p}.min", axes=[1], keepdims=1)
    zero_f, eps, axis1 = g.const("c.zero", 0.0), g.const("c.eps", 1e-8), g.const("c.axis1", [1], np.int64)
    if symmetric:  # zero point 128: MatMulIntegerToFloat subtracts it
        amax = g.node("Max", [top, g.node("Neg", [bottom], f"{p}.negmin"), eps], f"{p}.amax")
        scale = g.node("Mul", [amax, g.const("c.1/127", 1 / 127)], f"{p}.scale")
        scale1 = g.node("Squeeze", [scale, axis1], f"{p}.scale1")
        zero_u = g.node("Expand", [g.const("c.u128", 128, np.uint8), g.node("Shape", [scale1], f"{p}.rows")],
                        f"{p}.zero")
        xq = g.node("QuantizeLinear", [x2, scale1, zero_u], f"{p}.xq", axis=0)
        y = g.node("MatMulIntegerToFloat", [xq, f"{weight}.q", scale, f"{weight}.scale", "c.u128"], f"{p}.y",
                   domain="com.microsoft")
    else:  # zero point per row: subtract zero * scale * (column sums of q * column scale) afterwards
        top = g.node("Max", [top, zero_f], f"{p}.max0")
        bottom = g.node("Min", [bottom, zero_f], f"{p}.min0")
        span = g.node("Max", [g.node("Sub", [top, bottom], f"{p}.span0"), eps], f"{p}.span")
        scale = g.node("Mul", [span, g.const("c.1/255", 1 / 255)], f"{p}.scale")
        shifted = g.node("Neg", [g.node("Div", [bottom, scale], f"{p}.mins")], f"{p}.zero0")
        zero = g.node("Clip", [g.node("Round", [shifted], f"{p}.zero1"), zero_f, g.const("c.255", 255.0)],
                      f"{p}.zerof")
        zero_u = g.node("Cast", [g.node("Squeeze", [zero, axis1], f"{p}.zero2")], f"{p}.zero",
                        to=TensorProto.UINT8)
        xq = g.node("QuantizeLinear", [x2, g.node("Squeeze", [scale, axis1], f"{p}.scale1"), zero_u], f"{p}.xq",
                    axis=0)
        y0 = g.node("MatMulIntegerToFloat", [xq, f"{weight}.q", scale, f"{weight}.scale"], f"{p}.y0",
                    domain="com.microsoft")
        q, column_scale = g.arrays[f"{weight}.q"], g.arrays[f"{weight}.scale"]
        g.const(f"{weight}.zero_term", q.astype(np.int64).sum(0) * column_scale.astype(np.float64))
        term = g.node("Mul", [g.node("Mul", [zero, scale], f"{p}.zs"), f"{weight}.zero_term"], f"{p}.term")
        y = g.node("Sub", [y0, term], f"{p}.y")
    g.node("Reshape", [y, g.output_shape(lead, cols)], out)


def write_graphs(model: Any, target: Path) -> None:
    """Writes ``model.onnx``, ``model-short.onnx`` and their shared ``weights.bin`` into ``target``,
    from the fused float graph ``model`` (an ``onnx.ModelProto``, see ``export.fused_graph``)."""
    from onnx import numpy_helper

    from functions.drift.onnx_embedder import MODEL_FILE, SHORT_MODEL_FILE, WEIGHTS_FILE

    graph = model.graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    (embed,) = [n for n in graph.node if n.op_type == "EmbedLayerNormalization"]
    quantized = [embed.input[2]]  # the word-embedding table
    arrays[f"{embed.input[2]}.q"], arrays[f"{embed.input[2]}.scale"] = quantize_table_rows(arrays[embed.input[2]])
    for node in graph.node:
        if (node.op_type == "MatMul" and node.input[1] in arrays) or node.op_type == "Attention":
            name = node.input[1]
            arrays[f"{name}.q"], arrays[f"{name}.scale"] = quantize_columns(arrays[name])
            quantized.append(name)

    short, long = _Graph(arrays), _Graph(arrays)
    for name in quantized:
        _dequantized(short, name)
    short.nodes += list(graph.node)
    _dequantized(long, embed.input[2])
    lead = long.node("Slice", [long.node("Shape", ["input_ids"], "shape.ids"), long.const("c.i0", [0], np.int64),
                               long.const("c.i2", [2], np.int64)], "shape.lead")
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in quantized:
            source = producers.get(node.input[0])
            _rowwise_matmul(long, node.input[0], node.input[1], node.output[0], lead,
                            symmetric=source is not None and source.op_type == "Attention")
        elif node.op_type == "Attention":
            x, weight, bias, mask = node.input[:4]
            unsupported = {a.name for a in node.attribute} - {"num_heads", "mask_filter_value", "scale"}
            if unsupported:
                raise ValueError(f"{node.name}: MultiHeadAttention has no {sorted(unsupported)}")
            qkv = f"{node.output[0]}.qkv"
            _rowwise_matmul(long, x, weight, qkv, lead, symmetric=False)
            third = arrays[weight].shape[1] // 3
            parts = [f"{qkv}.{part}" for part in "qkv"]
            long.node("Split", [qkv, long.const(f"split.{third}", [third] * 3, np.int64)], parts, axis=-1)
            long.node("MultiHeadAttention", [*parts, bias, mask], list(node.output), domain="com.microsoft",
                      attributes=node.attribute)
        else:
            long.nodes.append(node)

    offsets = _write_weights(target / WEIGHTS_FILE, arrays, sorted(short.initializers() | long.initializers()))
    for g, file in ((short, SHORT_MODEL_FILE), (long, MODEL_FILE)):
        _save(model, g, target / file, offsets, WEIGHTS_FILE)


def _write_weights(path: Path, arrays: dict[str, np.ndarray], names: list[str]) -> dict[str, tuple[int, int]]:
    """The tensors of at least ``INLINE_BYTES``, each at an aligned offset: {name: (offset, length)}."""
    offsets: dict[str, tuple[int, int]] = {}
    with path.open("wb") as handle:
        for name in names:
            data = np.ascontiguousarray(arrays[name]).tobytes()
            if len(data) < INLINE_BYTES:
                continue
            handle.write(b"\0" * (-handle.tell() % ALIGNMENT))
            offsets[name] = (handle.tell(), len(data))
            handle.write(data)
    return offsets


def _save(model: Any, g: _Graph, path: Path, offsets: dict[str, tuple[int, int]], weights_file: str) -> None:
    import onnx
    from onnx import numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    del out.graph.initializer[:]
    out.graph.node.extend(g.nodes)
    for name in sorted(g.initializers()):
        tensor = numpy_helper.from_array(np.ascontiguousarray(g.arrays[name]), name)
        if name in offsets:
            offset, length = offsets[name]
            tensor.ClearField("raw_data")
            tensor.data_location = onnx.TensorProto.EXTERNAL
            for key, value in (("location", weights_file), ("offset", str(offset)), ("length", str(length))):
                tensor.external_data.add(key=key, value=value)
        out.graph.initializer.append(tensor)
    del out.graph.value_info[:]  # the fused ops' intermediate shapes no longer match the rewritten nodes
    onnx.save(out, str(path))
