"""Phones -> mouth, jaw and tongue curves (the "lips" layer), at any frame rate.

A dominance-blending coarticulation model (after Cohen & Massaro): every phone has a viseme
target and a dominance that is flat over the phone and decays before it (anticipation) and after
it (carry-over). Each frame takes the dominance-weighted mean of the nearby targets, so lips move
toward the next sound early, nothing jitters, and weak phones (h, t, k) borrow their neighbours'
lip shape. Pauses bring the mouth to rest (so do stretches the loudness says are silent when the
phones were recognised rather than aligned), and hummed fillers ("um") hum with closed lips.
Hard articulatory constraints follow on the combined face (``contacts.py``): lips seal and hold
on p/b/m and the lower lip meets the upper teeth on f/v, even when the phone is shorter than a
frame. The model runs in continuous time, so 24, 25, 29.97, 30 and 60 fps give the same motion
sampled differently.
"""

from __future__ import annotations

import numpy as np

from talkclip_model.animate.contacts import enforce_contacts, hum_fillers
from talkclip_model.arkit import INDEX, NUM_CHANNELS
from talkclip_model.phones import SILENCE, VOWELS
from talkclip_model.types import PhoneTrack, Prosody

__all__ = ["LIP_CHANNELS", "VISEMES", "articulate", "enforce_contacts", "loudness_gain", "openness_target",
           "rest_envelope"]

# Channels the lips layer writes.
LIP_CHANNELS = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthPressLeft", "mouthPressRight",
    "mouthRollLower", "mouthRollUpper", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthShrugLower", "mouthShrugUpper", "tongueOut", "mouthSmileLeft", "mouthSmileRight",
)
_COLS = [INDEX[c] for c in LIP_CHANNELS]
_JAW = LIP_CHANNELS.index("jawOpen")

ANTICIPATION_S = 0.07  # how early a phone's dominance rises before its onset (time constant)
CARRYOVER_S = 0.045  # how long it lingers after its offset
NEIGHBOURS = 4  # phones either side considered per frame
SHORT_VOWEL_S = 0.08  # vowels shorter than this gain dominance in proportion ...
SHORT_VOWEL_BOOST = 3.0  # ... up to this factor
PAUSE_REST_S = 0.3  # pauses longer than this pull hardest toward rest in the blend
PAUSE_EASE_IN_S = 0.06  # after speech stops, the mouth reaches rest over this long
PAUSE_EASE_OUT_S = 0.06  # and leaves it over this long before speech starts,
PAUSE_LEAD_S = 0.03  # ending this long before it, where the lips shape the first sound
SILENT_MIN_S = 0.3  # recognised phones: a stretch this long near the noise floor is a pause
SILENT_ABOVE_FLOOR_DB = 4.0  # near the noise floor (the 10th percentile of loudness)
SILENT_BELOW_SPEECH_DB = 6.0  # and at least this far below typical speech
CHUNK_FRAMES = 8192  # frames blended at a time


def _v(jaw=0.0, close=0.0, funnel=0.0, pucker=0.0, press=0.0, roll_lower=0.0, roll_upper=0.0,
       lower_down=0.0, upper_up=0.0, stretch=0.0, shrug_lower=0.0, shrug_upper=0.0, tongue=0.0, smile=0.0):
    return (jaw, close, funnel, pucker, press, press, roll_lower, roll_upper, lower_down, lower_down,
            upper_up, upper_up, stretch, stretch, shrug_lower, shrug_upper, tongue, smile, smile)


# phone -> (target over LIP_CHANNELS, lip dominance, jaw dominance)
VISEMES: dict[str, tuple[tuple[float, ...], float, float]] = {
    # bilabials: the seal and its hold are a contact (contacts.py); the targets bring the jaw
    # up and press a little, so a closure does not bleed into the next vowel
    "P": (_v(jaw=0.05, press=0.15, roll_lower=0.05, roll_upper=0.05), 0.6, 0.8),
    "B": (_v(jaw=0.05, press=0.12, roll_lower=0.05, roll_upper=0.04), 0.6, 0.8),
    "M": (_v(jaw=0.04, press=0.1, roll_lower=0.04, roll_upper=0.03), 0.6, 0.8),
    # labiodentals: jaw nearly closed, lower lip in and up to the upper teeth, upper lip lifted
    # (the contact places the lip on the incisor edge)
    "F": (_v(jaw=0.04, roll_lower=0.4, shrug_lower=0.1, upper_up=0.22, shrug_upper=0.08), 0.95, 0.65),
    "V": (_v(jaw=0.04, roll_lower=0.35, shrug_lower=0.1, upper_up=0.2, shrug_upper=0.08), 0.95, 0.65),
    # rounded
    "W": (_v(jaw=0.08, funnel=0.25, pucker=0.7), 0.85, 0.5),
    "UW": (_v(jaw=0.14, funnel=0.3, pucker=0.6), 0.75, 0.7),
    "UH": (_v(jaw=0.2, funnel=0.3, pucker=0.4, lower_down=0.1), 0.7, 0.7),
    "OW": (_v(jaw=0.32, funnel=0.5, pucker=0.3, lower_down=0.15), 0.75, 0.8),
    "OY": (_v(jaw=0.3, funnel=0.45, pucker=0.2, lower_down=0.15), 0.7, 0.8),
    "AO": (_v(jaw=0.42, funnel=0.4, pucker=0.1, lower_down=0.25), 0.7, 0.85),
    "R": (_v(jaw=0.12, funnel=0.3, pucker=0.25), 0.5, 0.4),
    "ER": (_v(jaw=0.18, funnel=0.3, pucker=0.2), 0.55, 0.6),
    # postalveolars: protruded, slightly open lips
    "SH": (_v(jaw=0.1, funnel=0.45, pucker=0.15, upper_up=0.25, lower_down=0.15), 0.65, 0.4),
    "ZH": (_v(jaw=0.1, funnel=0.45, pucker=0.15, upper_up=0.25, lower_down=0.15), 0.65, 0.4),
    "CH": (_v(jaw=0.1, funnel=0.4, pucker=0.15, upper_up=0.2, lower_down=0.15), 0.65, 0.4),
    "JH": (_v(jaw=0.1, funnel=0.4, pucker=0.15, upper_up=0.2, lower_down=0.15), 0.65, 0.4),
    # open and mid vowels
    "AA": (_v(jaw=0.55, lower_down=0.35, upper_up=0.1), 0.45, 0.95),
    "AE": (_v(jaw=0.45, lower_down=0.4, upper_up=0.15, stretch=0.15), 0.45, 0.95),
    "AH": (_v(jaw=0.36, lower_down=0.25, upper_up=0.05), 0.35, 0.85),
    "AW": (_v(jaw=0.48, funnel=0.15, lower_down=0.3, upper_up=0.05), 0.5, 0.95),
    "AY": (_v(jaw=0.48, lower_down=0.35, upper_up=0.1, stretch=0.1), 0.45, 0.95),
    # spread vowels: the lips widen (stretch, a little smile)
    "EH": (_v(jaw=0.32, lower_down=0.3, upper_up=0.1, stretch=0.22, smile=0.05), 0.45, 0.85),
    "EY": (_v(jaw=0.26, lower_down=0.25, upper_up=0.1, stretch=0.3, smile=0.1), 0.5, 0.8),
    "IH": (_v(jaw=0.18, lower_down=0.2, upper_up=0.1, stretch=0.27, smile=0.08), 0.38, 0.7),
    "IY": (_v(jaw=0.12, lower_down=0.15, upper_up=0.1, stretch=0.38, smile=0.12), 0.55, 0.7),
    # tongue-tip and back consonants: weak lips, mid jaw; the tongue tip shows a little on th/dh
    "TH": (_v(jaw=0.12, lower_down=0.1, tongue=0.08), 0.3, 0.5),
    "DH": (_v(jaw=0.12, lower_down=0.1, tongue=0.05), 0.3, 0.5),
    "T": (_v(jaw=0.1, lower_down=0.1, stretch=0.1), 0.15, 0.35),
    "D": (_v(jaw=0.1, lower_down=0.1, stretch=0.1), 0.15, 0.35),
    "N": (_v(jaw=0.1, lower_down=0.08, stretch=0.08), 0.12, 0.35),
    "S": (_v(jaw=0.06, lower_down=0.12, upper_up=0.1, stretch=0.2), 0.3, 0.5),
    "Z": (_v(jaw=0.06, lower_down=0.12, upper_up=0.1, stretch=0.2), 0.3, 0.5),
    "L": (_v(jaw=0.16, lower_down=0.12), 0.12, 0.4),
    "Y": (_v(jaw=0.1, lower_down=0.1, stretch=0.25), 0.3, 0.4),
    "K": (_v(jaw=0.14, lower_down=0.1), 0.1, 0.35),
    "G": (_v(jaw=0.14, lower_down=0.1), 0.1, 0.35),
    "NG": (_v(jaw=0.12, lower_down=0.08), 0.1, 0.35),
    "HH": (_v(jaw=0.2, lower_down=0.1), 0.04, 0.1),
    SILENCE: (_v(), 0.35, 0.35),
}
_REST = _v()
# Channels that loudness scales (opening), as opposed to closures and rounding.
_OPENING = [LIP_CHANNELS.index(c) for c in ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight",
                                             "mouthUpperUpLeft", "mouthUpperUpRight")]


def openness_target(phone: str) -> float:
    """How open the jaw is for a phone (used by evaluation's timing-lag measure)."""
    return VISEMES.get(phone, VISEMES[SILENCE])[0][_JAW]


def _phone_tables(phones: PhoneTrack):
    targets = np.array([VISEMES.get(p, VISEMES[SILENCE])[0] for p in phones.phones], dtype=np.float64)
    lip_dom = np.array([VISEMES.get(p, VISEMES[SILENCE])[1] for p in phones.phones])
    jaw_dom = np.array([VISEMES.get(p, VISEMES[SILENCE])[2] for p in phones.phones])
    # Long pauses pull harder toward rest so the face relaxes; short ones barely interrupt.
    dur = phones.ends - phones.starts
    is_sil = np.array([p == SILENCE for p in phones.phones])
    pause_weight = np.clip(dur / PAUSE_REST_S, 0.15, 1.5)
    lip_dom = np.where(is_sil, lip_dom * pause_weight, lip_dom)
    jaw_dom = np.where(is_sil, jaw_dom * pause_weight, jaw_dom)
    # A short vowel between consonants would be swamped by their dominance and never open or
    # round; it weighs more the shorter it is, so its shape still shows on its frame.
    is_vowel = np.array([p in VOWELS for p in phones.phones])
    boost = np.where(is_vowel, np.clip(SHORT_VOWEL_S / np.maximum(dur, 1e-3), 1.0, SHORT_VOWEL_BOOST), 1.0)
    return targets, lip_dom * boost, jaw_dom * boost


def loudness_gain(prosody: Prosody | None, times: np.ndarray) -> np.ndarray:
    """(T,) jaw-opening gain from loudness relative to the take's typical speech level."""
    if prosody is None or len(prosody.loudness_db) == 0:
        return np.ones(len(times))
    level = prosody.at(times).astype(np.float64)
    speech = prosody.loudness_db[prosody.loudness_db > np.percentile(prosody.loudness_db, 40)]
    ref = float(np.median(speech)) if len(speech) else float(np.median(prosody.loudness_db))
    return np.clip(1.0 + 0.02 * (level - ref), 0.7, 1.3)


def articulate(phones: PhoneTrack, times: np.ndarray, prosody: Prosody | None = None,
               articulation: np.ndarray | float = 1.0) -> np.ndarray:
    """(T, 52) lips layer for the given frame times (seconds)."""
    times = np.asarray(times, dtype=np.float64)
    out = np.zeros((len(times), NUM_CHANNELS), dtype=np.float64)
    if len(phones) == 0 or len(times) == 0:
        return out
    phones = hum_fillers(phones)
    tables = _phone_tables(phones)
    gain = loudness_gain(prosody, times)
    moving = (1.0 - rest_envelope(phones, times, prosody)) * np.broadcast_to(
        np.asarray(articulation, dtype=np.float64), (len(times),))
    for lo in range(0, len(times), CHUNK_FRAMES):  # bounded memory on hour-long takes
        hi = min(lo + CHUNK_FRAMES, len(times))
        values = _blend(phones, tables, times[lo:hi])
        values[:, _OPENING] *= gain[lo:hi, None]  # loudness opens the jaw
        values *= moving[lo:hi, None]  # the articulation strength scales all movement; pauses rest
        out[lo:hi, _COLS] = values
    return out


def _blend(phones: PhoneTrack, tables, times: np.ndarray) -> np.ndarray:
    """(T, len(LIP_CHANNELS)) dominance-weighted targets at the given times."""
    targets, lip_dom, jaw_dom = tables
    starts, ends = phones.starts, phones.ends
    # nearest phone per frame, then a window of neighbours around it
    idx = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(phones) - 1)
    offsets = np.arange(-NEIGHBOURS, NEIGHBOURS + 1)
    raw = idx[:, None] + offsets[None, :]
    valid = (raw >= 0) & (raw < len(phones))
    nb = np.clip(raw, 0, len(phones) - 1)  # (T, K)
    t = times[:, None]
    before = np.maximum(starts[nb] - t, 0.0)  # time until the phone starts
    after = np.maximum(t - ends[nb], 0.0)  # time since it ended
    temporal = np.exp(-before / ANTICIPATION_S - after / CARRYOVER_S) * valid  # (T, K)
    rest_weight = 1e-3
    lips_w = temporal * lip_dom[nb]
    jaw_w = temporal * jaw_dom[nb]
    tgt = targets[nb]  # (T, K, C)
    values = np.einsum("tk,tkc->tc", lips_w, tgt) / (lips_w.sum(1, keepdims=True) + rest_weight)
    values[:, _JAW] = np.einsum("tk,tk->t", jaw_w, tgt[:, :, _JAW]) / (jaw_w.sum(1) + rest_weight)
    return values


def rest_envelope(phones: PhoneTrack, times: np.ndarray, prosody: Prosody | None = None) -> np.ndarray:
    """(T,) 0..1: how fully the mouth is at rest. Inside a pause it eases to rest over
    PAUSE_EASE_IN_S and leaves rest over PAUSE_EASE_OUT_S up to PAUSE_LEAD_S before speech
    resumes, so a pause of 0.2 s or more reaches rest and a brief one only dips. Recognised
    phones (no transcript) also rest where the loudness says the take is silent."""
    pauses = [(float(s), float(e)) for p, s, e in zip(phones.phones, phones.starts, phones.ends) if p == SILENCE]
    if phones.source == "recognition":
        pauses += silent_stretches(prosody)
    out = np.zeros(len(times))
    first, last = float(phones.starts[0]), float(phones.ends[-1])
    for s, e in pauses:
        lo, hi = np.searchsorted(times, [s, e])
        t = times[lo:hi]
        ease_in = np.ones(len(t)) if s <= first else np.clip((t - s) / PAUSE_EASE_IN_S, 0.0, 1.0)
        ease_out = np.ones(len(t)) if e >= last else np.clip((e - PAUSE_LEAD_S - t) / PAUSE_EASE_OUT_S, 0.0, 1.0)
        x = np.minimum(ease_in, ease_out)
        out[lo:hi] = np.maximum(out[lo:hi], x * x * (3.0 - 2.0 * x))
    return out


def silent_stretches(prosody: Prosody | None) -> list[tuple[float, float]]:
    """(start, end) of stretches of at least SILENT_MIN_S whose loudness stays near the noise
    floor and well below typical speech."""
    if prosody is None or len(prosody.loudness_db) == 0:
        return []
    level = prosody.loudness_db.astype(np.float64)
    speech = level[level > np.percentile(level, 40)]
    typical = float(np.median(speech)) if len(speech) else float(np.median(level))
    quiet = level < min(float(np.percentile(level, 10)) + SILENT_ABOVE_FLOOR_DB, typical - SILENT_BELOW_SPEECH_DB)
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
    return [(a * prosody.hop, b * prosody.hop) for a, b in runs if (b - a) * prosody.hop >= SILENT_MIN_S]
