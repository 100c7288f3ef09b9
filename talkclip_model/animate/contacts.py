"""Contacts the phones demand, made on the combined face (all layers) and written back into the
lips layer so the layers still add up: p/b/m seal the lips and hold them, f/v put the lower lip
on the upper incisors with the upper teeth showing, hummed fillers ("um", "hmm") close the lips.

Each contact has an envelope over time: 1 while it holds, easing in before and out after with a
smooth ramp, so lips close over a frame or two, stay sealed, and part over a frame or two rather
than snapping. Each frame moves toward the contact pose by the envelope. The pose is solved on
the sum of the layers with the mesh-fitted measures of ``mouth.py``, so an expression that holds
the jaw or the lips apart is closed over as well.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from talkclip_model.animate.mouth import (
    FV_TEETH_CM,
    LOWER_LIP_TO_TEETH_CM,
    UPPER_LIP_TO_TEETH_CM,
    lip_gap,
    lower_lip_to_teeth,
    upper_lip_to_teeth,
)
from talkclip_model.arkit import INDEX
from talkclip_model.phones import BILABIALS, HUMMED_FILLERS, LABIODENTALS, SILENCE, VOWELS
from talkclip_model.types import PhoneTrack


@dataclass(frozen=True)
class Timing:
    """How a contact holds and eases, seconds."""

    hold: float  # the contact holds at least this long (a short phone borrows from its neighbours)
    ease_in: float  # it eases in over this long before the hold ...
    ease_out: float  # ... and out over this long after it,
    min_ease_in: float  # or over less where the neighbour is short, but never less than these
    min_ease_out: float
    lead: float = 0.0  # a hold longer than ``hold`` starts easing out up to this long before the phone ends


# p/b/m: sealed 2-3 frames at 30 fps (1-2 at 24), closing over about a frame, parting over 1-2
SEAL = Timing(hold=0.07, ease_in=0.045, ease_out=0.07, min_ease_in=0.025, min_ease_out=0.035, lead=0.04)
SEAL_OVERLAP = 0.01  # jaw units the lips close past touching (compression, with the press)
SEAL_PRESS = 0.2  # mouthPress while sealed
# f/v
FV = Timing(hold=0.05, ease_in=0.04, ease_out=0.05, min_ease_in=0.025, min_ease_out=0.03)
FV_JAW = (0.03, 0.07)  # jaw range on f/v: nearly closed, teeth just apart
FV_LIP_CM = 0.03  # lower lip's top this far above the upper incisor edge
FV_TEETH_MARGIN_CM = 0.08  # the upper lip lifts until the teeth show by this much more than needed
FV_ROLL = (0.2, 0.6)  # mouthRollLower range
FV_SHRUG_MAX = 0.4  # mouthShrugLower (lifts the lower lip) for what rolling cannot do
FV_UPPER_UP = (0.12, 0.5)  # mouthUpperUp range
NEIGHBOUR_SHARE = 0.4  # a short contact borrows at most this share of a neighbouring consonant
VOWEL_SHARE = 0.25  # or vowel (hold_span)
EASE_SHARE = 0.6  # and eases over at most this share of what is left of a consonant
VOWEL_EASE_SHARE = 0.6  # or of a vowel
FILLER_ONSET_S = 0.08  # the vowel of a hummed filler ("um" = AH M) before the lips close

_PARTING = [INDEX[c] for c in ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
                               "mouthUpperUpRight", "mouthFunnel", "mouthShrugUpper")]
_PRESS = [INDEX["mouthPressLeft"], INDEX["mouthPressRight"]]
_LOWER_DOWN = [INDEX["mouthLowerDownLeft"], INDEX["mouthLowerDownRight"]]
_UPPER_UP = [INDEX["mouthUpperUpLeft"], INDEX["mouthUpperUpRight"]]
_CLOSE, _JAW, _FUNNEL = INDEX["mouthClose"], INDEX["jawOpen"], INDEX["mouthFunnel"]
_ROLL, _SHRUG = INDEX["mouthRollLower"], INDEX["mouthShrugLower"]


def enforce_contacts(frames: np.ndarray, phones: PhoneTrack, times: np.ndarray, lips: np.ndarray) -> None:
    """Make lips meet where the phones demand it, adjusting ``frames`` (the combined face before
    clipping) and the lips layer ``lips`` in place by the same amount."""
    times = np.asarray(times, dtype=np.float64)
    if len(phones) == 0 or len(times) == 0:
        return
    phones = hum_fillers(phones)
    seal = contact_envelope(phones, times, BILABIALS, SEAL)
    fv = contact_envelope(phones, times, LABIODENTALS, FV) * (1.0 - seal)
    for amount, pose in ((seal, sealed_pose), (fv, labiodental_pose)):
        rows = np.flatnonzero(amount > 1e-4)
        if len(rows):
            delta = (pose(frames[rows]) - frames[rows]) * amount[rows, None]
            frames[rows] += delta
            lips[rows] += delta.astype(lips.dtype)


def sealed_pose(frames: np.ndarray) -> np.ndarray:
    """Frames (n, 52) with the lips sealed: parting released, a little press, and mouthClose
    raised until the lips meet SEAL_OVERLAP past touching, and at least to jawOpen (press and
    roll close the lips less near contact than the linear measure says)."""
    out = np.array(frames, dtype=np.float64)
    out[:, _PARTING] = 0.0
    out[:, _PRESS] = np.maximum(out[:, _PRESS], SEAL_PRESS)
    face = np.clip(out, 0.0, 1.0)
    need = np.maximum(lip_gap(face) + face[:, _CLOSE] + SEAL_OVERLAP, face[:, _JAW])
    out[:, _CLOSE] = np.maximum(out[:, _CLOSE], need)
    return out


def labiodental_pose(frames: np.ndarray) -> np.ndarray:
    """Frames (n, 52) with the lower lip on the upper incisor edge: the jaw nearly closed, the lower
    lip rolled in (and lifted where rolling is not enough), the upper lip lifted so the teeth show."""
    out = np.array(frames, dtype=np.float64)
    out[:, _JAW] = np.clip(out[:, _JAW], *FV_JAW)
    out[:, _LOWER_DOWN] = 0.0
    out[:, _FUNNEL] = np.minimum(out[:, _FUNNEL], 0.1)
    out[:, _CLOSE] = np.minimum(out[:, _CLOSE], 0.5 * out[:, _JAW])
    out[:, [_ROLL, _SHRUG]] = 0.0
    need = FV_LIP_CM - lower_lip_to_teeth(np.clip(out, 0.0, 1.0))
    roll = np.clip(need / LOWER_LIP_TO_TEETH_CM["mouthRollLower"], *FV_ROLL)
    need -= roll * LOWER_LIP_TO_TEETH_CM["mouthRollLower"]
    out[:, _ROLL] = roll
    out[:, _SHRUG] = np.clip(need / LOWER_LIP_TO_TEETH_CM["mouthShrugLower"], 0.0, FV_SHRUG_MAX)
    lower = np.maximum(lower_lip_to_teeth(np.clip(out, 0.0, 1.0)), 0.0)
    upper_up = out[:, _UPPER_UP].mean(axis=1)
    short = lower + FV_TEETH_CM + FV_TEETH_MARGIN_CM - upper_lip_to_teeth(np.clip(out, 0.0, 1.0))
    lift = np.clip(upper_up + short / UPPER_LIP_TO_TEETH_CM["mouthUpperUp"], *FV_UPPER_UP)
    out[:, _UPPER_UP] = np.maximum(lift, upper_up)[:, None]
    return out


def contact_envelope(phones: PhoneTrack, times: np.ndarray, labels, timing: Timing) -> np.ndarray:
    """(T,) 0..1: how fully each frame makes the contact of the phones in ``labels``.

    A phone holds for its own length or ``timing.hold``, whichever is longer (``hold_span``),
    and eases in and out over at most a share of what is left of the neighbouring phone (less of
    a vowel, so short vowels between contacts still open), but never quicker than the timing's
    minimum. The frame nearest a phone's middle always makes the contact fully, however short the
    phone."""
    out = np.zeros(len(times))
    for i, p in enumerate(phones.phones):
        if p not in labels:
            continue
        (hs, he), (room_before, room_after) = hold_span(phones, i, timing.hold)
        lead = min(timing.lead, max(he - hs - timing.hold, 0.0))  # a long hold starts parting early
        he -= lead
        ease_in = max(min(timing.ease_in, room_before), timing.min_ease_in)
        ease_out = max(min(timing.ease_out, room_after + lead), timing.min_ease_out)
        lo, hi = np.searchsorted(times, [hs - ease_in, he + ease_out])
        t = times[lo:hi]
        closing = np.clip(1.0 - (hs - t) / ease_in, 0.0, 1.0)
        closing *= closing * (3.0 - 2.0 * closing)  # the lips close smoothly ...
        parting = np.clip(1.0 - (t - he) / ease_out, 0.0, 1.0) ** 2  # ... part fast, then the opening slows
        out[lo:hi] = np.maximum(out[lo:hi], np.minimum(closing, parting))
        out[int(np.argmin(np.abs(times - 0.5 * (phones.starts[i] + phones.ends[i]))))] = 1.0
    return out


def hold_span(phones: PhoneTrack, i: int, hold_s: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """((start, end) of phone ``i``'s hold, (room to ease in, room to ease out)) in seconds.

    A phone shorter than ``hold_s`` borrows the rest from its neighbours: first from a consonant
    or pause (up to NEIGHBOUR_SHARE of it), then from a vowel (up to VOWEL_SHARE), so the lips
    close during the l before "by" rather than in its vowel. Easing takes at most EASE_SHARE of
    what is left of a neighbouring consonant, VOWEL_EASE_SHARE of a vowel."""
    s, e = float(phones.starts[i]), float(phones.ends[i])
    dur, vowel = [], []
    for j in (i - 1, i + 1):
        inside = 0 <= j < len(phones)
        dur.append(float(phones.ends[j] - phones.starts[j]) if inside else np.inf)
        vowel.append(inside and phones.phones[j] in VOWELS)
    need = max(hold_s - (e - s), 0.0)
    cap = [(VOWEL_SHARE if vowel[k] else NEIGHBOUR_SHARE) * dur[k] for k in (0, 1)]
    grow = [0.0 if vowel[k] else min(0.5 * need, cap[k]) for k in (0, 1)]  # centred where it can be
    for k in sorted((0, 1), key=lambda k: vowel[k]):  # then a consonant or pause before a vowel
        grow[k] = min(need - grow[1 - k], cap[k])
    room = [(VOWEL_EASE_SHARE if vowel[k] else EASE_SHARE) * (dur[k] - grow[k]) for k in (0, 1)]
    return (s - grow[0], e + grow[1]), (room[0], room[1])


def hum_fillers(phones: PhoneTrack) -> PhoneTrack:
    """The phones with hummed fillers closed: in "um", "hmm" (and, without words, a long AH M
    after a pause) the vowel before an M keeps only its onset and the M hums the rest."""
    starts, ends = phones.starts.copy(), phones.ends.copy()
    labels = phones.phones
    hummed = _filler_spans(phones)
    changed = False
    for i in range(len(labels) - 1):
        if labels[i + 1] != "M" or labels[i] == "M" or not any(a - 1e-6 <= starts[i] and ends[i + 1] <= b + 1e-6
                                                              for a, b in hummed):
            continue
        cut = starts[i] + min(FILLER_ONSET_S, ends[i] - starts[i])
        if cut < ends[i]:
            ends[i] = starts[i + 1] = cut
            changed = True
    return dataclasses.replace(phones, starts=starts, ends=ends) if changed else phones


def _filler_spans(phones: PhoneTrack) -> list[tuple[float, float]]:
    """(start, end) of hummed filler words, from the words where the track has them, else from
    the phones: AH M after a pause (or at the start) with a vowel of 150 ms or more."""
    if len(phones.words):
        return [(float(s), float(e)) for w, s, e in zip(phones.words, phones.word_starts, phones.word_ends)
                if w.lower().split("(")[0] in HUMMED_FILLERS]
    spans = []
    p, s, e = phones.phones, phones.starts, phones.ends
    for i in range(len(p) - 1):
        after_pause = i == 0 or p[i - 1] == SILENCE
        if after_pause and p[i] == "AH" and p[i + 1] == "M" and e[i] - s[i] >= 0.15:
            spans.append((float(s[i]), float(e[i + 1])))
    return spans
