"""Build the MiniLM ONNX encoder once (torch needed here only).

    python -m talkclip_model.training.export_encoder [--out PATH] [--force]

Verifies the wheel's model.safetensors (SHA-256), exports the torch encoder with named dynamic
axes, and writes beside the ONNX a manifest that records both hashes and a copy of tokenizer.json,
so that a Blender add-on can ship these three files (in talkclip_model/style/weights/) without the
wheel or torch. Importing this module needs torch.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import torch

from talkclip_model.style.weights import (
    MINILM_SHA256,
    ONNX_OPSET,
    minilm_model_dir,
    minilm_onnx_path,
    sha256_of,
    verify_sha256,
)
from talkclip_model.training.bert import load_sentence_bert
from talkclip_model.training.export_cli import export_main


def export_minilm(out: Path | None = None, model_dir: Path | None = None) -> Path:
    """Export all-MiniLM-L6-v2 to ``out`` (default: the user cache) and return the path."""
    model_dir = Path(model_dir) if model_dir else minilm_model_dir()
    out = Path(out) if out else minilm_onnx_path()
    verify_sha256(model_dir / "model.safetensors", MINILM_SHA256, "MiniLM weights (model.safetensors)")
    model = load_sentence_bert(model_dir)  # .eval(): no dropout in the graph
    ids = torch.tensor([[101, 7592, 2088, 102]], dtype=torch.int64)
    mask = torch.ones_like(ids)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        tmp_path = Path(tmp) / out.name
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # legacy-exporter deprecation notice
            torch.onnx.export(
                model, (ids, mask), str(tmp_path), input_names=["input_ids", "attention_mask"],
                output_names=["embedding"], opset_version=ONNX_OPSET, dynamo=False,
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                              "embedding": {0: "batch"}})
        os.replace(tmp_path, out)
    manifest = {"encoder": "all-MiniLM-L6-v2", "source": str(model_dir / "model.safetensors"),
                "source_sha256": MINILM_SHA256, "onnx_sha256": sha256_of(out), "opset": ONNX_OPSET,
                "inputs": ["input_ids (batch, tokens) int64", "attention_mask (batch, tokens) int64"],
                "outputs": ["embedding (batch, 384) float32, L2-normalised mean pooling"]}
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    shutil.copyfile(model_dir / "tokenizer.json", out.with_suffix(".tokenizer.json"))  # run time needs only these three
    return out


def main(argv: list[str] | None = None) -> int:
    return export_main(argv, "python -m talkclip_model.training.export_encoder", __doc__.splitlines()[0],
                       minilm_onnx_path(), Path.exists, export_minilm)

if __name__ == "__main__":
    sys.exit(main())
