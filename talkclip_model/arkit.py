"""The 52 ARKit blendshape names, their canonical order, and face-region groups.

This module is the only place that lists the channels. The order is the one Apple's
Live Link Face app writes in its CSV export, so a track row maps to a CSV row directly. It also
owns what the names mean to other tools: how a character's spelling of a channel is read
(``normalise_arkit_name``) and how far the eyeLook channels turn the eyes (``EYE_RANGE_RAD``,
``eye_look_to_gaze``).
"""

from __future__ import annotations

import re

import numpy as np

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


# --- a character's spellings of the names ---------------------------------------------------

_ARKIT_KEYS = {n.lower(): n for n in ARKIT_NAMES}
_ARKIT_BY_LENGTH = sorted(_ARKIT_KEYS, key=len, reverse=True)
_SIDE_SUFFIX = re.compile(r"(?:[_.\-\s](L|R|Left|Right|LEFT|RIGHT|l|r|left|right)"
                          r"|(?<=[A-Za-z0-9])(Left|Right|left|right)|(?<=[a-z0-9])(L|R))$")
_CAPS_SIDE_SUFFIX = re.compile(r"(?<=[A-Z0-9])(L|R)$")  # EYEBLINKL: only in names without lower case
_SIDE_PREFIX = re.compile(r"^(L|R|Left|Right|LEFT|RIGHT|l|r|left|right)[_.\-\s]")
_NAMESPACE = re.compile(r"^.*[.:|/]")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def spelling_key(text: str) -> str:
    """``text`` lower case without separators: the key two spellings of one name share
    (``Jaw_Open``, ``jaw-open`` and ``jawOpen`` all give ``jawopen``)."""
    return _NOT_ALNUM.sub("", text.lower())


def strip_namespace(name: str) -> str:
    """``name`` without a namespace or object prefix (``blendShape1.jawOpen``, ``Face:jawOpen``)."""
    return _NAMESPACE.sub("", name)


def _side_word(letter: str) -> str:
    return "left" if letter.lower().startswith("l") else "right"


def normalise_arkit_name(name: str) -> str | None:
    """The ARKit channel a character's shape-key name means, or None.

    Handles case and separators (``jaw_open``), sides (``eyeBlink_L``, ``eyeBlink.R``,
    ``eyeBlinkL``, ``L_eyeBlink``), namespaces (``blendShape1.jawOpen``, ``Face:jawOpen``) and tool
    prefixes (``BS_jawOpen``, ``ARKit_jawOpen``, CC4 ``A25_Jaw_Open``): after normalising, the
    longest ARKit name the text ends with wins. A side on a channel ARKit has only once
    (``browInnerUp_L``, ``cheekPuff_R``) means that channel.
    """
    for candidate in (name, strip_namespace(name)):
        text = candidate.strip()
        side = ""
        m = _SIDE_SUFFIX.search(text)
        if m:
            side = _side_word(next(g for g in m.groups() if g))
            text = text[: m.start()]
        elif m := _SIDE_PREFIX.match(text):
            side = _side_word(m.group(1))
            text = text[m.end():]
        elif text.isupper() and (m := _CAPS_SIDE_SUFFIX.search(text)):
            side = _side_word(m.group(1))
            text = text[: m.start()]
        for key in (spelling_key(text) + side, spelling_key(candidate), spelling_key(text)):
            if key in _ARKIT_KEYS:
                return _ARKIT_KEYS[key]
            for arkit_key in _ARKIT_BY_LENGTH:
                if key.endswith(arkit_key) and not key[: -len(arkit_key)].endswith(("left", "right")):
                    return _ARKIT_KEYS[arkit_key]
    return None


# --- eyes -------------------------------------------------------------------------------------

# How far the eyes turn at eyeLook* = 1, radians (ARKit's eye transforms reach about +-0.6).
EYE_RANGE_RAD = 0.6


def eye_look_to_gaze(arkit: np.ndarray) -> np.ndarray:
    """(T, 2, 2) gaze of the left (``[:, 0]``) and right (``[:, 1]``) eye from (T, 52) weights:
    yaw (``[..., 0]``, + = the character's left) and pitch (``[..., 1]``, + = down) in eyeLook
    units; times ``EYE_RANGE_RAD`` they are radians. The left eye looks left when it looks "out",
    the right eye when it looks "in"."""
    g = lambda n: arkit[:, INDEX[n]]  # noqa: E731
    left = (g("eyeLookOutLeft") - g("eyeLookInLeft"), g("eyeLookDownLeft") - g("eyeLookUpLeft"))
    right = (g("eyeLookInRight") - g("eyeLookOutRight"), g("eyeLookDownRight") - g("eyeLookUpRight"))
    return np.stack([np.stack(left, axis=1), np.stack(right, axis=1)], axis=1)
