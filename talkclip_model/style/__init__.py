"""Text -> speaking style: a frozen sentence encoder, a learned adapter, and a phrase parser.

    model = load_style_model()            # bundled all-MiniLM-L6-v2 through onnxruntime
    model.style('furious, brows knitted') # -> SpeakingStyle (52 ARKit + dynamics)
    model.style('"angry" + 0.5*"smiling"', intensity=0.8)

Importing stays cheap: onnxruntime, tokenizers and open_clip load inside functions, and the
vocabulary is read on first use. See docs/style.md for the design and the held-out scores.
"""

from __future__ import annotations

from talkclip_model.style.bank import ExampleBank
from talkclip_model.style.encoders import load_encoder
from talkclip_model.style.model import StyleModel, read_adapter_meta
from talkclip_model.style.weights import adapter_paths, bank_path

__all__ = ["load_style_model"]


def load_style_model(encoder: str | None = None, providers: list[str] | None = None) -> StyleModel:
    """Load the text -> SpeakingStyle model once.

    encoder: None or "minilm" (bundled all-MiniLM-L6-v2) or "clip:<model>/<weights path or tag>".
    providers: onnxruntime execution providers (default CPU; unavailable ones fall back with a warning).
    """
    enc = load_encoder(encoder, providers)
    onnx_path, json_path = adapter_paths(enc.id, enc.hash)
    meta = read_adapter_meta(json_path)
    bank = ExampleBank(bank_path(json_path), enc.hash) if bank_path(json_path).is_file() else None
    return StyleModel(enc, onnx_path, meta, providers, bank=bank)
