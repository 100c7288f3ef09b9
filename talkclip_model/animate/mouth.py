"""Mouth measures read off ARKit weights (T, 52): how far apart the lips are, how rounded, and
where the lips sit against the upper teeth. The contacts (``contacts.py``) use them to seal
closures and place f/v; evaluation scores with them.

The lip measures are linear models of what a viewer sees on a posed head, fitted on the ICT
FaceKit head (``../shared/data/ict_facekit``, measured by ``evaluation/face_mesh.py``): over
6,000 random poses of the mouth, jaw, cheek and nose channels each fit is within 0.2 mm of the
mesh. The lip gap was fitted on SAiD's
ARKit reference mesh as well; where the two rigs disagree, the gap keeps the larger opening, so
a closure counts only when it closes on both. In ARKit terms: the lips seal when mouthClose
matches jawOpen with the parting channels (mouthLowerDown, mouthUpperUp, mouthFunnel,
mouthShrugUpper) released. Press and roll add little: a press of 1.0 closes under a tenth of
what jawOpen 1.0 opens, so they are no substitute for mouthClose.
"""

from __future__ import annotations

import numpy as np

from talkclip_model.arkit import INDEX, NUM_CHANNELS

# Midline lip gap per unit weight, in jaw units (1.0 = the gap jawOpen 1.0 opens: 3.3 cm on
# ICT, 4.0 cm on the ARKit mesh). A pair of sided channels shares the coefficient.
APERTURE_PER_UNIT = {
    "jawOpen": 1.0, "mouthClose": -1.0, "mouthLowerDown": 0.21, "mouthUpperUp": 0.21,
    "mouthFunnel": 0.40, "mouthPucker": 0.11, "mouthShrugUpper": 0.16, "mouthShrugLower": -0.15,
    "mouthRollLower": -0.10, "mouthRollUpper": 0.06, "mouthPress": -0.075, "jawForward": 0.04,
    "noseSneer": 0.19,
}
# The lower lip's top relative to the upper incisor edge, cm on the ICT head (+ = above the edge)
LOWER_LIP_TO_TEETH_CM = {
    "_rest": 0.146, "jawOpen": -3.52, "mouthClose": 3.80, "mouthLowerDown": -0.68, "mouthUpperUp": 0.05,
    "mouthFunnel": -0.79, "mouthPucker": 0.04, "mouthRollLower": 0.34, "mouthShrugLower": 0.69,
    "mouthPress": 0.19, "mouthSmile": 0.37, "mouthFrown": -0.05, "mouthDimple": 0.06, "mouthLeft": 0.085,
    "mouthRight": 0.085, "jawForward": -0.14, "jawLeft": 0.025, "jawRight": 0.025, "cheekPuff": 0.06,
    "noseSneer": 0.08,
}
# The upper lip's lowest point relative to the upper incisor edge, cm on ICT (+ = edge uncovered)
UPPER_LIP_TO_TEETH_CM = {
    "_rest": 0.209, "jawOpen": -0.245, "mouthClose": -0.07, "mouthUpperUp": 0.754, "mouthFunnel": 0.52,
    "mouthPucker": -0.052, "mouthRollUpper": 0.20, "mouthShrugUpper": 0.515, "mouthPress": -0.063,
    "mouthSmile": 0.38, "mouthFrown": -0.076, "mouthStretch": -0.024, "mouthLeft": 0.037, "mouthRight": 0.037,
    "cheekPuff": 0.024, "noseSneer": 0.69,
}
FV_REACH_CM = 0.1  # f/v: the lower lip's top at most 1 mm below the upper incisor edge ...
FV_TEETH_CM = 0.15  # ... with at least 1.5 mm of upper incisor showing between the lips


def _vector(per_unit: dict[str, float]) -> np.ndarray:
    """(52,) weights of a linear measure; a sided pair ("mouthPress") splits its coefficient."""
    vec = np.zeros(NUM_CHANNELS)
    for name, value in per_unit.items():
        if name in INDEX:
            vec[INDEX[name]] = value
        elif name + "Left" in INDEX:
            vec[INDEX[name + "Left"]] = vec[INDEX[name + "Right"]] = 0.5 * value
    return vec


_APERTURE = _vector(APERTURE_PER_UNIT)
_LOWER = _vector(LOWER_LIP_TO_TEETH_CM)
_UPPER = _vector(UPPER_LIP_TO_TEETH_CM)


def _ch(frames: np.ndarray, *names: str) -> np.ndarray:
    """The sum of the named channels, (T,) for (T, 52) frames."""
    return np.sum([frames[..., INDEX[n]] for n in names], axis=0)


def lip_gap(frames: np.ndarray) -> np.ndarray:
    """Midline lip gap in jaw units beyond the rest pose; negative when the lips press together."""
    return np.asarray(frames, dtype=np.float64) @ _APERTURE


def lip_aperture(frames: np.ndarray) -> np.ndarray:
    """How far apart the lips are (0 closed .. ~1 wide open), from ARKit weights (T, 52)."""
    return np.clip(lip_gap(frames), 0.0, None)


def lower_lip_to_teeth(frames: np.ndarray) -> np.ndarray:
    """cm from the upper incisor edge up to the lower lip's top (ICT head; < 0: lip below the teeth)."""
    return np.asarray(frames, dtype=np.float64) @ _LOWER + LOWER_LIP_TO_TEETH_CM["_rest"]


def upper_lip_to_teeth(frames: np.ndarray) -> np.ndarray:
    """cm from the upper incisor edge up to the upper lip's lowest point (ICT head)."""
    return np.asarray(frames, dtype=np.float64) @ _UPPER + UPPER_LIP_TO_TEETH_CM["_rest"]


def labiodental_margin(frames: np.ndarray) -> np.ndarray:
    """cm by which a frame reads as f/v (>= 0: the lower lip reaches the upper incisor edge and
    the upper teeth show above it); negative: how far it is from reading so."""
    lower = lower_lip_to_teeth(frames)
    shown = upper_lip_to_teeth(frames) - np.maximum(lower, 0.0)
    return np.minimum(lower + FV_REACH_CM, shown - FV_TEETH_CM)


def lip_rounding(frames: np.ndarray) -> np.ndarray:
    return _ch(frames, "mouthPucker") + _ch(frames, "mouthFunnel")
