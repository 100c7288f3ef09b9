"""Judging "the right emotion" in evaluation: the emotion family an ARKit style shows."""

from __future__ import annotations

import functools

import numpy as np

from talkclip_model.arkit import INDEX
from talkclip_model.style.facs import FAMILIES, PROTOTYPES, prototype_target

NEUTRAL_NORM = 0.25  # an ARKit vector weaker than this (L2) reads as neutral

# Compound expressions read as either of their parts.
ALSO_ACCEPT: dict[str, tuple[str, ...]] = {
    "worried": ("sad",), "sadly_fearful": ("sad",), "sadly_angry": ("sad",), "sadly_surprised": ("sad",),
    "fearfully_surprised": ("surprise",), "angrily_surprised": ("angry", "fear"), "happily_surprised": ("happy",),
    "happily_disgusted": ("happy",), "angrily_disgusted": ("angry",), "disgustedly_surprised": ("disgust",),
    "appalled": ("angry", "fear"), "hateful": ("disgust",), "awed": ("fear",), "nervous": ("sad",),
    "disappointed": (), "frustrated": ("sad",), "determined": (), "sulky": ("angry",), "skeptical": ("angry",),
    "smug": ("happy",), "flirty": ("contempt",), "proud": ("contempt",), "serious": ("angry",),
}


@functools.cache
def family_prototypes() -> tuple[tuple[str, ...], np.ndarray]:
    """Reference ARKit vectors of the emotion families (neutral excluded): each family's own prototype."""
    names = tuple(f for f in FAMILIES if f != "neutral")
    return names, np.stack([prototype_target(f, 1.0)[0] for f in names])


def judge_family(arkit: np.ndarray) -> str:
    """The emotion family an ARKit style shows: nearest prototype by cosine, or neutral if faint."""
    arkit = np.asarray(arkit, dtype=np.float32).copy()
    arkit[INDEX["jawOpen"]] = 0.0
    if float(np.linalg.norm(arkit)) < NEUTRAL_NORM:
        return "neutral"
    names, refs = family_prototypes()
    refs = refs.copy()
    refs[:, INDEX["jawOpen"]] = 0.0
    sims = refs @ arkit / (np.linalg.norm(refs, axis=1) * np.linalg.norm(arkit) + 1e-9)
    return names[int(np.argmax(sims))]


def accepted_families(prototype: str) -> tuple[str, ...]:
    fam = PROTOTYPES[prototype][0]
    return ((fam,) if fam else ()) + ALSO_ACCEPT.get(prototype, ())
