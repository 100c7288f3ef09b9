"""The adapter's encoding of the style dynamics: each ``types.DYNAMICS`` value mapped into 0..1
by its (low, high) range, so the network predicts one bounded number per dynamic."""

from __future__ import annotations

import numpy as np

from talkclip_model.types import DYNAMICS


def normalise_dynamics(dyn: dict[str, float]) -> np.ndarray:
    """Dynamics dict (missing keys at default) -> (11,) values mapped into 0..1 by their range."""
    out = np.zeros(len(DYNAMICS), dtype=np.float32)
    for i, (k, (default, lo, hi, _)) in enumerate(DYNAMICS.items()):
        out[i] = (min(max(dyn.get(k, default), lo), hi) - lo) / (hi - lo)
    return out


def denormalise_dynamics(vec: np.ndarray) -> dict[str, float]:
    return {k: float(lo + (hi - lo) * float(np.clip(v, 0.0, 1.0)))
            for (k, (_, lo, hi, _)), v in zip(DYNAMICS.items(), vec)}


DYNAMICS_NEUTRAL = normalise_dynamics({})
