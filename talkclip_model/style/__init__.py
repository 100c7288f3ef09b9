"""Text -> speaking style: a frozen sentence encoder, a learned adapter, and a phrase parser.

    model = load_style_model()            # bundled all-MiniLM-L6-v2 through onnxruntime
    model.style('furious, brows knitted') # -> SpeakingStyle (52 ARKit + dynamics)
    model.style('"angry" + 0.5*"smiling"', intensity=0.8)

Module-level imports stay cheap: onnxruntime, tokenizers and open_clip load inside functions.
See docs/style.md for the design and the held-out scores.
"""

from __future__ import annotations

from pathlib import Path

from talkclip_model.errors import TalkclipError

__all__ = ["load_style_model", "adapter_paths", "PACKAGED_WEIGHTS"]

PACKAGED_WEIGHTS = Path(__file__).resolve().parent / "weights"


def adapter_paths(encoder_id: str, encoder_hash: str) -> tuple[Path, Path]:
    """(onnx, json) of the adapter for an encoder: the user cache first, then the packaged one."""
    from talkclip_model.style.encoders import cache_dir
    from talkclip_model.style.training_paths import adapter_slug

    slug = adapter_slug(encoder_id, encoder_hash)
    for folder in (cache_dir() / "adapters", PACKAGED_WEIGHTS):
        if (folder / f"{slug}.json").is_file():
            return folder / f"{slug}.onnx", folder / f"{slug}.json"
    hint = "reinstall talkclip" if encoder_id == "minilm" else f"run `talkclip train-style --encoder {encoder_id}`"
    raise TalkclipError(f"{cache_dir() / 'adapters' / (slug + '.json')}: no style adapter for encoder {encoder_id}; {hint}")


def load_style_model(encoder: str | None = None, providers: list[str] | None = None):
    """Load the text -> SpeakingStyle model once.

    encoder: None or "minilm" (bundled all-MiniLM-L6-v2) or "clip:<model>/<weights path or tag>".
    providers: onnxruntime execution providers (default CPU; unavailable ones fall back with a warning).
    """
    from talkclip_model.style.bank import ExampleBank, bank_path
    from talkclip_model.style.encoders import load_encoder
    from talkclip_model.style.model import StyleModel, read_adapter_meta

    enc = load_encoder(encoder, providers)
    onnx_path, json_path = adapter_paths(enc.id, enc.hash)
    meta = read_adapter_meta(json_path)
    bank = ExampleBank(bank_path(json_path), enc.hash) if bank_path(json_path).is_file() else None
    return StyleModel(enc, onnx_path, meta, providers, bank=bank)
