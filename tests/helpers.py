"""Synthetic tracks shared by the tests (no bpy): each builder is seeded, so a test sees the same
frames every run."""

from __future__ import annotations

import numpy as np

from talkclip_model.arkit import INDEX
from talkclip_model.types import ExpressionTrack


def synthetic_track(frames: int = 90, fps: float = 30.0, seed: int = 0, layers: bool = False) -> ExpressionTrack:
    """Smooth 0.05..0.95 sines on every channel and a slow head sway; optional lips/expression layers."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / fps
    arkit = 0.5 + 0.45 * np.sin(2 * np.pi * (0.3 + rng.random(52)) * t + rng.random(52) * 6)
    head = 0.1 * np.sin(2 * np.pi * 0.5 * t + np.array([0.0, 1.0, 2.0]))
    extra = {}
    if layers:
        extra["layers"] = {"lips": arkit * 0.5, "expression": arkit * 0.5}
    return ExpressionTrack(fps=fps, arkit=arkit, head=head, meta={"prompt": "test"}, **extra)


def random_track(n: int = 40, fps: float = 30.0, seed: int = 0) -> ExpressionTrack:
    """Uniform random weights (float32) and head angles within 0.3 rad: exercises every value."""
    rng = np.random.default_rng(seed)
    head = rng.uniform(-0.3, 0.3, (n, 3)).astype(np.float32)
    return ExpressionTrack(fps=fps, arkit=rng.random((n, 52), dtype=np.float32), head=head)


def constant_track(values: dict[str, float] | None = None, n: int = 10, fps: float = 30.0,
                   seed: int | None = None) -> ExpressionTrack:
    """Named channels held at a value over zeros (or over random weights when ``seed`` is given)."""
    a = np.zeros((n, 52), np.float32)
    if seed is not None:
        a = np.random.default_rng(seed).random((n, 52), dtype=np.float32)
    for k, v in (values or {}).items():
        a[:, INDEX[k]] = v
    return ExpressionTrack(fps=fps, arkit=a, head=np.zeros((n, 3)))
