"""Mouth measures read off ARKit weights (T, 52): how far apart the lips are, how rounded, how
far the lower lip is tucked. The decoder uses them to seal closures; evaluation scores with them.
"""

from __future__ import annotations

import numpy as np

from talkclip_model.arkit import INDEX


def _ch(frames: np.ndarray, *names: str) -> np.ndarray:
    """The sum of the named channels, (T,) for (T, 52) frames."""
    return np.sum([frames[..., INDEX[n]] for n in names], axis=0)


def lip_aperture(frames: np.ndarray) -> np.ndarray:
    """How far apart the lips are (0 closed .. ~1 wide open), from ARKit weights (T, 52).

    In ARKit, mouthClose closes the lips against an open jaw; lips part with the jaw and with
    the lower lip pulled down / upper lip raised; press and roll seal them.
    """
    jaw = _ch(frames, "jawOpen")
    part = 0.5 * (_ch(frames, "mouthLowerDownLeft", "mouthLowerDownRight")
                  + _ch(frames, "mouthUpperUpLeft", "mouthUpperUpRight")) * 0.5
    seal = _ch(frames, "mouthClose") + 0.5 * _ch(frames, "mouthPressLeft", "mouthPressRight") * 0.5 \
        + 0.5 * _ch(frames, "mouthRollLower", "mouthRollUpper") * 0.5
    return np.clip(jaw + part - seal, 0.0, None)


def lip_rounding(frames: np.ndarray) -> np.ndarray:
    return _ch(frames, "mouthPucker") + _ch(frames, "mouthFunnel")


def lip_tuck(frames: np.ndarray) -> np.ndarray:
    """Lower lip drawn in toward the upper teeth (f/v)."""
    return _ch(frames, "mouthRollLower") + 0.5 * _ch(frames, "mouthUpperUpLeft", "mouthUpperUpRight") * 0.5
