"""Brow raises on accented syllables (the "emphasis" layer)."""

from __future__ import annotations

import numpy as np

from talkclip_model.animate.nonverbal.cues import Cues
from talkclip_model.arkit import INDEX, NUM_CHANNELS

BROW_AMP = 0.18  # browInnerUp for a full-strength accent at expressiveness 1
BROW_MAX = 0.35  # soft ceiling of the summed raises
BROW_RISE_S, BROW_DECAY_S = 0.10, 0.28
BROW_LEAD_S = 0.03  # brows rise slightly before the vowel's centre


def brow_raises(cues: Cues, expressiveness: np.ndarray, gain: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """(N, 3) browInnerUp, browOuterUpLeft, browOuterUpRight on the grid.

    Stronger accents, and more expressive styles, raise the brows more often and higher; ``gain``
    is the arousal multiplier."""
    t = cues.t
    out = np.zeros((len(t), 3))
    for a, s in zip(cues.accents, cues.accent_strength):
        u = rng.uniform(size=3)  # always three draws: the style changes which accents, not the stream
        i = min(int(np.searchsorted(t, a)), len(t) - 1)
        if u[0] >= (0.15 + 0.7 * s) * (0.5 + 0.5 * expressiveness[i]):  # expressive faces raise more often
            continue
        amp = BROW_AMP * s * expressiveness[i] * gain[i]
        lo, hi = np.searchsorted(t, [a - 4 * BROW_RISE_S, a + 4 * BROW_DECAY_S])
        x = t[lo:hi] - (a - BROW_LEAD_S)
        shape = np.exp(-0.5 * (x / np.where(x < 0, BROW_RISE_S, BROW_DECAY_S)) ** 2)
        outer = 0.75 * amp * (1.0 + 0.15 * (u[1] - 0.5) * np.array([1.0, -1.0]))
        out[lo:hi, 0] += amp * shape
        out[lo:hi, 1] += outer[0] * (0.9 + 0.2 * u[2]) * shape
        out[lo:hi, 2] += outer[1] * (0.9 + 0.2 * u[2]) * shape
    return BROW_MAX * np.tanh(out / BROW_MAX)


def emphasis_layer(brows: np.ndarray) -> np.ndarray:
    """(T, 52) from (T, 3) brow raises."""
    out = np.zeros((len(brows), NUM_CHANNELS), np.float32)  # a layer: float32 like the others
    for j, name in enumerate(("browInnerUp", "browOuterUpLeft", "browOuterUpRight")):
        out[:, INDEX[name]] = np.clip(brows[:, j], 0, 1)
    return out
