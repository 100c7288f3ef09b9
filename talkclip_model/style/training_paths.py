"""File naming of trained adapters, shared by training and loading (no torch here)."""

from __future__ import annotations

import re


def adapter_slug(encoder_id: str, encoder_hash: str) -> str:
    """'minilm' -> minilm_adapter; 'clip:ViT-B-32/...' -> clip_ViT_B_32_<hash12>_adapter."""
    if encoder_id == "minilm":
        return "minilm_adapter"
    model = encoder_id.split(":", 1)[1].split("/")[0]
    return "clip_" + re.sub(r"[^A-Za-z0-9]+", "_", model) + "_" + re.sub(r"[^A-Za-z0-9]+", "", encoder_hash)[:12] + "_adapter"
