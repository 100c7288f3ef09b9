"""The renderer interface: ARKit + head per frame and a source image -> RGBA frames.

A renderer is any object with these members; nothing registers it. ``exporters.preview`` drives
one over a take, so a photo-real renderer (LivePortrait, SadTalker, PIRenderer...) can be plugged in
by whoever has its weights, by passing an object of their own to ``exporters.preview.render_take``
(docs/preview.md shows how); the project ships only THA3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Renderer(Protocol):
    """Turns per-frame ARKit weights and head rotation into images of one character."""

    name: str  # shown in messages, e.g. "THA3 (onnxruntime, CPUExecutionProvider)"
    size: tuple[int, int]  # (width, height) of every frame it returns

    def load_image(self, path: Path) -> np.ndarray:
        """The character image, checked against what the renderer needs; TalkclipError (one line,
        with a hint how to prepare one) when it does not fit. Returns what ``render`` takes."""
        ...

    def render(self, image: np.ndarray, arkit: np.ndarray, head: np.ndarray) -> np.ndarray:
        """One frame: ``arkit`` (52,) weights in 0..1, ``head`` (3,) pitch/yaw/roll in radians
        -> (height, width, 4) uint8 RGBA."""
        ...
