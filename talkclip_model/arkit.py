"""The 52 ARKit blendshape names, their canonical order, and face-region groups.

This module is the only place that lists the channels. The order is the one Apple's
Live Link Face app writes in its CSV export, so a track row maps to a CSV row directly.
"""

from __future__ import annotations

ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawRight", "jawLeft", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthRight", "mouthLeft",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
assert len(ARKIT_NAMES) == 52 and len(set(ARKIT_NAMES)) == 52

NUM_CHANNELS = len(ARKIT_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}

# Head rotation channels carried beside the blendshapes, in radians.
HEAD_CHANNELS: tuple[str, ...] = ("pitch", "yaw", "roll")

# Face regions, used by the style layer (what text may change) and the plots.
REGIONS: dict[str, tuple[str, ...]] = {
    "eyes": tuple(n for n in ARKIT_NAMES if n.startswith("eye")),
    "brows": tuple(n for n in ARKIT_NAMES if n.startswith("brow")),
    "jaw": tuple(n for n in ARKIT_NAMES if n.startswith("jaw")),
    "mouth": tuple(n for n in ARKIT_NAMES if n.startswith("mouth")),
    "cheeks_nose": tuple(n for n in ARKIT_NAMES if n.startswith(("cheek", "nose"))),
    "tongue": ("tongueOut",),
}

# Channels that speech articulation drives; the style may bias them but not freeze them.
ARTICULATION_CHANNELS: tuple[str, ...] = (
    "jawOpen", "jawForward", "mouthClose", "mouthFunnel", "mouthPucker",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "mouthStretchLeft", "mouthStretchRight",
    "tongueOut",
)


def capitalised(name: str) -> str:
    """ARKit name as Live Link Face spells it in CSV headers (``jawOpen`` -> ``JawOpen``)."""
    return name[0].upper() + name[1:]


def index_of(name: str) -> int:
    """Index of an ARKit channel; accepts Apple's spelling or the capitalised CSV spelling."""
    key = name[0].lower() + name[1:] if name else name
    try:
        return INDEX[key]
    except KeyError:
        raise KeyError(f"not an ARKit blendshape name: {name!r}") from None


def mask(names) -> "list[int]":
    """Indices of the given ARKit names, in ARKIT_NAMES order."""
    return sorted(index_of(n) for n in names)
