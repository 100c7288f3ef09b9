"""The all-MiniLM-L6-v2 sentence encoder written out in torch (training and export only).

transformers is not a dependency: this is the plain BERT encoder (post-LayerNorm, GELU), mean
pooling over the attention mask and L2 normalisation, which is exactly what the
sentence-transformers pipeline of all-MiniLM-L6-v2 computes. Weights load by their BERT names.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_json(cls, path: Path) -> "BertConfig":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class _Layer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        h = c.hidden_size
        self.heads = c.num_attention_heads
        self.scale = 1.0 / math.sqrt(c.hidden_size // c.num_attention_heads)
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=c.layer_norm_eps)
        self.inter = nn.Linear(h, c.intermediate_size)
        self.out = nn.Linear(c.intermediate_size, h)
        self.out_norm = nn.LayerNorm(h, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape  # (B, T, H)
        d = h // self.heads

        def split(y):  # (B, T, H) -> (B, heads, T, d)
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = (q @ k.transpose(-1, -2)) * self.scale + bias  # (B, heads, T, T)
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, h)
        x = self.attn_norm(x + self.attn_out(ctx))
        return self.out_norm(x + self.out(F.gelu(self.inter(x))))


class SentenceBert(nn.Module):
    """input_ids, attention_mask (B, T) int64 -> L2-normalised sentence embedding (B, H)."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.config = c
        self.word = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.emb_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.layers = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1]
        pos = torch.arange(t, device=input_ids.device).unsqueeze(0)  # (1, T)
        x = self.word(input_ids) + self.position(pos) + self.token_type(torch.zeros_like(input_ids))
        x = self.emb_norm(x)
        mask = attention_mask.to(x.dtype)  # (B, T)
        bias = ((1.0 - mask) * -1e4)[:, None, None, :]  # (B, 1, 1, T)
        for layer in self.layers:
            x = layer(x, bias)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
        return F.normalize(pooled, p=2.0, dim=-1)


def _rename(name: str) -> str | None:
    """BERT checkpoint name -> SentenceBert parameter name (None: not a parameter here)."""
    name = name.removeprefix("bert.")
    table = {
        "embeddings.word_embeddings.weight": "word.weight",
        "embeddings.position_embeddings.weight": "position.weight",
        "embeddings.token_type_embeddings.weight": "token_type.weight",
        "embeddings.LayerNorm.weight": "emb_norm.weight",
        "embeddings.LayerNorm.bias": "emb_norm.bias",
    }
    if name in table:
        return table[name]
    if not name.startswith("encoder.layer."):
        return None
    _, _, idx, rest = name.split(".", 3)
    sub = {
        "attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
        "attention.output.dense": "attn_out", "attention.output.LayerNorm": "attn_norm",
        "intermediate.dense": "inter", "output.dense": "out", "output.LayerNorm": "out_norm",
    }
    module, _, kind = rest.rpartition(".")
    return f"layers.{idx}.{sub[module]}.{kind}" if module in sub else None


def load_sentence_bert(model_dir: Path) -> SentenceBert:
    """Build the encoder from a folder with config.json + model.safetensors, in eval mode."""
    from safetensors.torch import load_file

    model = SentenceBert(BertConfig.from_json(Path(model_dir) / "config.json"))
    raw = load_file(str(Path(model_dir) / "model.safetensors"))
    state = {name: v for k, v in raw.items() if (name := _rename(k))}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{model_dir}: weights do not fit the encoder (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.eval()
