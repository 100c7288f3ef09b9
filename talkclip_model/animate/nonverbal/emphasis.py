"""Brow gestures on accented syllables (the "emphasis" layer).

Each accent may move the brows, with a chance that grows with its strength and the style's
expressiveness. The gesture is one of:
- a raise (AU1+2: browInnerUp with both browOuterUp), mostly on pitch-led accents;
- an inner raise (AU1, the outer brows only a little): a questioning, pleading accent;
- a knit (AU4 with a little AU1: browDown with some browInnerUp), mostly on loudness-led accents,
  the emphatic "frown of effort".
Left and right differ a little on every gesture, and now and then one brow leads. Strong accents
flash quickly (rise about 30-80 ms), as in the Live Link Face captures, where brows reach
0.2-0.3 per frame at 30 fps.
"""

from __future__ import annotations

import numpy as np

from talkclip_model.animate.nonverbal.cues import Cues
from talkclip_model.arkit import INDEX, NUM_CHANNELS

BROW_CHANNELS = ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "browDownLeft", "browDownRight")
BROW_AMP = 0.28  # peak of a full-strength gesture at expressiveness 1 (before the random size)
BROW_MAX = 0.45  # soft ceiling of the summed gestures, per channel
BROW_RISE_S = (0.03, 0.08)  # Gaussian rise: strong accents rise fastest
BROW_DECAY_S = (0.18, 0.40)
BROW_LEAD_S = 0.03  # brows move slightly before the vowel's centre
KNIT_P = (0.15, 0.55)  # chance of a knit for a pitch-led ... a loudness-led accent
INNER_P = 0.25  # share of raises that are mostly the inner brow
SIDE_STD = 0.15  # left/right size difference (relative)
ONE_SIDED_P = 0.07  # chance that one brow clearly leads (a skeptical raise)
# gesture -> (browInnerUp, browOuterUp, browDown) per unit of amplitude
GESTURES = {"raise": (1.0, 0.8, 0.0), "inner": (1.0, 0.25, 0.0), "knit": (0.35, 0.0, 0.9)}


def brow_raises(cues: Cues, expressiveness: np.ndarray, gain: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """(N, 5) browInnerUp, browOuterUpLeft/Right, browDownLeft/Right on the grid.

    Stronger accents, and more expressive styles, move the brows more often and further;
    ``gain`` is the arousal multiplier. Every accent draws the same random numbers whatever the
    style, so the style changes which accents move the brows, not the rest of the take."""
    t = cues.t
    out = np.zeros((len(t), len(BROW_CHANNELS)))
    pitch_share = cues.accent_pitch if len(cues.accent_pitch) == len(cues.accents) else np.full(len(cues.accents), 0.5)
    for a, s, share in zip(cues.accents, cues.accent_strength, pitch_share):
        u, z = rng.uniform(size=7), rng.standard_normal(2)
        i = min(int(np.searchsorted(t, a)), len(t) - 1)
        if u[0] >= (0.15 + 0.7 * s) * (0.5 + 0.5 * expressiveness[i]):  # expressive faces move more often
            continue
        amp = BROW_AMP * s * expressiveness[i] * gain[i] * (0.7 + 0.6 * u[1])
        if amp <= 0:
            continue
        kind = _gesture(u[2], u[3], share)
        rise = BROW_RISE_S[1] - (BROW_RISE_S[1] - BROW_RISE_S[0]) * min(s + 0.3 * u[4], 1.0)
        decay = BROW_DECAY_S[0] + (BROW_DECAY_S[1] - BROW_DECAY_S[0]) * u[5]
        lo, hi = np.searchsorted(t, [a - BROW_LEAD_S - 4 * rise, a + 4 * decay])
        x = t[lo:hi] - (a - BROW_LEAD_S)
        shape = np.exp(-0.5 * (x / np.where(x < 0, rise, decay)) ** 2)
        inner, outer, down = GESTURES[kind]
        left, right = _sides(z, u[6])
        out[lo:hi] += amp * shape[:, None] * np.array([inner, outer * left, outer * right, down * left, down * right])
    return BROW_MAX * np.tanh(out / BROW_MAX)


def _gesture(u_kind: float, u_inner: float, pitch_share: float) -> str:
    """A knit on loudness-led accents more often, a raise on pitch-led ones."""
    p_knit = KNIT_P[1] - (KNIT_P[1] - KNIT_P[0]) * float(np.clip(pitch_share, 0.0, 1.0))
    if u_kind < p_knit:
        return "knit"
    return "inner" if u_inner < INNER_P else "raise"


def _sides(z: np.ndarray, u: float) -> tuple[float, float]:
    """(left, right) size factors: a small random difference, and now and then one side leads."""
    d = float(np.clip(SIDE_STD * z[0], -0.4, 0.4))
    left, right = 1.0 + d, 1.0 - d
    if u < ONE_SIDED_P:
        lead = 1.5, 0.5
        left, right = lead if z[1] >= 0 else lead[::-1]
    return left, right


def emphasis_layer(brows: np.ndarray) -> np.ndarray:
    """(T, 52) from (T, 5) brow gestures (``BROW_CHANNELS``)."""
    out = np.zeros((len(brows), NUM_CHANNELS), np.float32)  # a layer: float32 like the others
    for j, name in enumerate(BROW_CHANNELS):
        out[:, INDEX[name]] = np.clip(brows[:, j], 0, 1)
    return out
