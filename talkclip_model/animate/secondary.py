"""Secondary motion: what a real face does while talking beyond the lips and the held style (the
"secondary" layer).

Calibrated against the Live Link Face captures in ../shared/data (neutral idle: a small uneven
smile of about .06 / .04, sneer and cheek squint about .03; emotional idles: eyeSquint about
.2, jawRight, jawForward and mouthRight up to .1-.2, cheekPuff under .03):
- a resting tone drawn per take (slight smile, lower-lid and cheek tension, a little sneer and
  dimple, the jaw a touch forward), drifting slowly and a little differently on each side;
- motion coupled to the lips: cheeks and nose rise with the upper lip, dimples and corners with
  a spread mouth, the corners pull down a little with the lower lip, the jaw comes forward with
  rounding, swings slightly to one side as it opens, the mouth drifts sideways while talking,
  the cheeks puff a touch before a p or b releases;
- one side 5-20% stronger for the whole take (the same side for lips, cheeks, brows), plus small
  independent drift per side;
- the voice's arousal scales all of it; a high-arousal voice widens the eyes a little and a
  low-arousal one lowers the lids a little.
Mouth channels ease off on p/b/m and f/v so nothing here works against a lip contact; the
contacts themselves are enforced on the summed face afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkclip_model.animate.expression import NOISE_COLUMN, NOISE_COLUMNS
from talkclip_model.animate.nonverbal.cues import bump
from talkclip_model.arkit import ARKIT_NAMES, INDEX, NUM_CHANNELS
from talkclip_model.phones import BILABIALS, LABIODENTALS
from talkclip_model.types import PhoneTrack

SIDE_BIAS = (0.08, 0.20)  # one side this much stronger for the whole take
REST_SIDE = (0.15, 0.40)  # resting tone and secondary motion are more uneven (real idle smile: .06 against .04)
# Resting tone per channel (both sides where ARKit has two): range a take's level is drawn from.
REST = {
    "mouthSmile": (0.04, 0.09), "mouthFrown": (0.02, 0.05), "cheekSquint": (0.03, 0.06),
    "noseSneer": (0.03, 0.06), "eyeSquint": (0.07, 0.12), "mouthDimple": (0.01, 0.03),
    "jawForward": (0.01, 0.03), "cheekPuff": (0.0, 0.01), "browInnerUp": (0.02, 0.06),
    "mouthStretch": (0.01, 0.04),
}
REST_DRIFT = 0.3  # relative 0.2-1 Hz drift of the resting tone and coupled motion, per region and side
REST_SLOW = 0.15  # ... and a slow wave over the take
# (target, source in the lips layer, gain): "Side" is replaced by Left and Right.
COUPLINGS = (
    ("cheekSquintSide", "mouthUpperUpSide", 0.30), ("cheekSquintSide", "mouthStretchSide", 0.15),
    ("noseSneerSide", "mouthUpperUpSide", 0.35), ("mouthDimpleSide", "mouthStretchSide", 0.30),
    ("mouthSmileSide", "mouthStretchSide", 0.12), ("mouthFrownSide", "mouthLowerDownSide", 0.25),
    ("jawForward", "mouthFunnel", 0.15), ("jawForward", "mouthPucker", 0.05),
)
# tone that talking adds: lower lids, inner brows, cheeks and nose a little more active
SPEAKING_TONE = {"eyeSquint": 0.05, "browInnerUp": 0.04, "cheekSquint": 0.03, "noseSneer": 0.02}
JAW_SIDE = (0.04, 0.10)  # jaw deviation to one side per unit of jawOpen
MOUTH_SIDE = (0.01, 0.04)  # mouth pulled to one side while talking
SIDEWAYS_DRIFT = 0.012  # slow sideways wander of jaw and mouth
PULL_STRETCH = 0.6  # the corner the mouth is pulled toward stretches by this much of the pull
LIPS_SIDE_NOISE = 0.08  # relative per-side drift of the lips layer's paired channels
PUFF = 0.08  # cheekPuff before a p/b release
PUFF_PHONES = frozenset({"P", "B"})
CONTACT_EASE = 0.8  # share of the mouth's secondary motion that gives way on p/b/m and f/v
REST_UNDER_STYLE = 0.7  # share of the resting tone that gives way under a strong held expression
AROUSAL_WIDE = 0.05  # eyeWide at full arousal
AROUSAL_LIDS = 0.06  # eyeBlink (heavy lids) at the lowest arousal
AROUSAL_RANGE = 0.35  # log-multiplier that counts as full arousal

# How strongly the take's stronger side shows per region (the tracker sees eyes and brows as
# nearly symmetric); the lips layer's press and close are left alone (they seal the lips).
_SIDE_WEIGHT = {"mouth": 1.0, "cheek": 1.0, "nose": 1.0, "brow": 0.5, "eyeSquint": 0.3, "eyeWide": 0.3}
_NOT_UNEVEN = ("mouthPress", "eyeBlink", "eyeLook")
_MOUTH_COLS = np.array([i for i, n in enumerate(ARKIT_NAMES) if n.startswith(("mouth", "jaw")) or n == "cheekPuff"])


@dataclass(frozen=True)
class Traits:
    """What a take's face is like, drawn once per take."""

    side_gain: np.ndarray  # (52,) per-channel gain: the stronger side > 1, the other < 1
    rest_gain: np.ndarray  # (52,) the same for the resting tone and secondary motion (more uneven)
    rest: np.ndarray  # (52,) resting tone, uneven between the sides
    jaw_side: float  # jaw deviation per unit jawOpen, + toward the character's left
    mouth_side: float  # sideways pull of the mouth while talking, + toward the left


def _sided(name: str) -> tuple[str, ...]:
    return (name + "Left", name + "Right") if name + "Left" in INDEX else (name,)


def side_gains(side: float, bias: float) -> np.ndarray:
    """(52,) gains that make the ``side`` (+1 left, -1 right) side ``bias`` stronger."""
    gain = np.ones(NUM_CHANNELS)
    for i, name in enumerate(ARKIT_NAMES):
        if name.startswith(_NOT_UNEVEN) or not name.endswith(("Left", "Right")):
            continue
        weight = next((w for prefix, w in _SIDE_WEIGHT.items() if name.startswith(prefix)), 0.0)
        sign = side if name.endswith("Left") else -side
        gain[i] = 1.0 + 0.5 * bias * weight * sign
    return gain


def draw_traits(rng: np.random.Generator) -> Traits:
    """A fixed number of draws, so adding a trait later does not reshuffle the others."""
    u = rng.uniform(size=8 + len(REST))
    side = 1.0 if u[0] < 0.5 else -1.0
    bias = SIDE_BIAS[0] + (SIDE_BIAS[1] - SIDE_BIAS[0]) * u[1]
    rest_bias = REST_SIDE[0] + (REST_SIDE[1] - REST_SIDE[0]) * u[2]
    rest_gain = side_gains(side, rest_bias)
    rest = np.zeros(NUM_CHANNELS)
    for k, (name, (lo, hi)) in enumerate(REST.items()):
        for ch in _sided(name):
            rest[INDEX[ch]] = (lo + (hi - lo) * u[8 + k]) * rest_gain[INDEX[ch]]
    jaw_side = (1.0 if u[3] < 0.5 else -1.0) * (JAW_SIDE[0] + (JAW_SIDE[1] - JAW_SIDE[0]) * u[4])
    mouth_side = side * (MOUTH_SIDE[0] + (MOUTH_SIDE[1] - MOUTH_SIDE[0]) * u[5])
    return Traits(side_gain=side_gains(side, bias), rest_gain=rest_gain, rest=rest, jaw_side=float(jaw_side), mouth_side=float(mouth_side))


def _coupled(lips: np.ndarray) -> np.ndarray:
    """(T, 52) motion that follows the lips layer (cheeks and nose with the upper lip, ...)."""
    out = np.zeros_like(lips, dtype=np.float64)
    for target, source, gain in COUPLINGS:
        sides = ("Left", "Right") if "Side" in target else ("",)
        for s in sides:
            out[:, INDEX[target.replace("Side", s)]] += gain * lips[:, INDEX[source.replace("Side", s)]]
    return out


def _signed(out: np.ndarray, value: np.ndarray, left: str, right: str) -> None:
    out[:, INDEX[left]] += np.maximum(value, 0.0)
    out[:, INDEX[right]] += np.maximum(-value, 0.0)


def contact_ease(phones: PhoneTrack, times: np.ndarray) -> np.ndarray:
    """(T,) 1, easing to 1 - CONTACT_EASE on the frames of p/b/m and f/v and the frames beside them."""
    on = phones.covering(times, BILABIALS | LABIODENTALS, closed=True).astype(np.float64)
    near = np.maximum(on, 0.5 * np.maximum(np.roll(on, 1), np.roll(on, -1)))
    return 1.0 - CONTACT_EASE * near


def cheek_puffs(phones: PhoneTrack, times: np.ndarray) -> np.ndarray:
    """(T,) 0..1: air pressure behind the lips building through a p or b and let go at its release."""
    picked = [(s, e) for p, s, e in zip(phones.phones, phones.starts, phones.ends) if p in PUFF_PHONES]
    if not picked:
        return np.zeros(len(times))
    out = np.zeros(len(times))
    for s, e in picked:
        out = np.maximum(out, bump(times, np.array([e - 0.01]), 1.0, max(e - s, 0.04), 0.05))
    return out


def secondary_layer(lips: np.ndarray, speaking: np.ndarray, phones: PhoneTrack, times: np.ndarray,
                    amount: np.ndarray, arousal: np.ndarray, traits: Traits, drift: np.ndarray,
                    held: np.ndarray | None = None) -> np.ndarray:
    """(T, 52) secondary layer.

    ``lips`` (T, 52) the lips layer; ``speaking`` (T,) 0..1; ``amount`` (T,) the style's scale of
    variation (from expressiveness); ``arousal`` (T,) multiplier around 1; ``drift`` (T,
    NOISE_COLUMNS + 3) unit noise: per region and side, a slow wave, jaw and mouth sideways;
    ``held`` (T, 52) the style's held weights, under which the resting tone gives way."""
    fast, slow, sideways = drift[:, :NOISE_COLUMNS], drift[:, NOISE_COLUMNS], drift[:, NOISE_COLUMNS + 1:]
    lips = np.asarray(lips, np.float64)
    breath = np.clip(1.0 + REST_DRIFT * fast[:, NOISE_COLUMN] + REST_SLOW * slow[:, None], 0.2, 2.0)
    strength = np.zeros(len(lips)) if held is None else np.clip(np.max(held, axis=1) / 0.5, 0.0, 1.0)
    rest = traits.rest[None, :] * (1.0 - REST_UNDER_STYLE * strength)[:, None]
    out = (rest + _coupled(lips) * traits.rest_gain[None, :]) * breath
    for name, gain in SPEAKING_TONE.items():
        for ch in _sided(name):
            out[:, INDEX[ch]] += gain * traits.rest_gain[INDEX[ch]] * speaking
    _signed(out, traits.jaw_side * lips[:, INDEX["jawOpen"]] + SIDEWAYS_DRIFT * sideways[:, 0], "jawLeft", "jawRight")
    pull = traits.mouth_side * speaking + SIDEWAYS_DRIFT * sideways[:, 1]
    _signed(out, pull, "mouthLeft", "mouthRight")
    _signed(out, PULL_STRETCH * pull, "mouthStretchLeft", "mouthStretchRight")  # the corner it is pulled to
    out[:, _MOUTH_COLS] *= contact_ease(phones, times)[:, None]
    out[:, INDEX["cheekPuff"]] += PUFF * cheek_puffs(phones, times)
    out *= (np.asarray(arousal) * np.asarray(amount))[:, None]

    level = np.clip(np.log(np.maximum(np.asarray(arousal, np.float64), 1e-6)) / AROUSAL_RANGE, -1.0, 1.0)
    for side in ("Left", "Right"):
        out[:, INDEX["eyeWide" + side]] += AROUSAL_WIDE * np.maximum(level, 0.0) * speaking
        out[:, INDEX["eyeBlink" + side]] += AROUSAL_LIDS * np.maximum(-level, 0.0)
    # the lips layer's paired channels, one side a little stronger and drifting apart slightly
    uneven = traits.side_gain - 1.0
    uneven_cols = np.flatnonzero(uneven != 0.0)
    out[:, uneven_cols] += lips[:, uneven_cols] * (uneven[uneven_cols][None, :]
                                                   + LIPS_SIDE_NOISE * fast[:, NOISE_COLUMN[uneven_cols]])
    return out.astype(np.float32)
