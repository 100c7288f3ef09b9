"""A minimal PNG writer (8-bit RGBA or RGB, no interlace) in plain Python + numpy + zlib, for
where Pillow is absent: Blender's Python writes the neural preview's frames with it, on a worker
thread (zlib releases the GIL while it compresses, and no Blender image is touched, so the UI
neither waits nor redraws)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from talkclip_model.files import atomic_output

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels: np.ndarray, level: int = 6) -> bytes:
    """(H, W, 4) or (H, W, 3) uint8, top row first -> PNG bytes."""
    pixels = np.ascontiguousarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"expected (H, W, 3|4) uint8 pixels, got {pixels.shape} {pixels.dtype}")
    h, w, channels = pixels.shape
    rows = np.zeros((h, 1 + w * channels), np.uint8)  # filter byte 0 (None) before each row
    rows[:, 1:] = pixels.reshape(h, w * channels)
    header = struct.pack(">IIBBBBB", w, h, 8, 6 if channels == 4 else 2, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + \
        _chunk(b"IEND", b"")


def write_png(path: Path, pixels: np.ndarray, level: int = 6) -> None:
    """Written atomically (a complete file or none)."""
    data = encode_png(pixels, level)
    with atomic_output(Path(path), "wb") as fh:
        fh.write(data)
