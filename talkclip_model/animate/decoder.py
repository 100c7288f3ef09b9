"""Phones + prosody + speaking style -> ExpressionTrack (52 ARKit channels + head rotation).

The face is built from additive layers that stay separable for animators:
  lips        mouth, jaw and tongue from the phones (articulation.py)
  expression  the style's held expression, breathing with arousal and easing off the
              articulators while speaking so the mouth stays readable
  eyes        blinks and gaze (nonverbal)
  emphasis    brow raises on pitch accents (nonverbal)
``arkit`` is their clipped sum; contacts (p/b/m closures, f/v) are enforced on the sum and the
correction is written back into the lips layer, so the layers still add up exactly.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from talkclip_model.animate import articulation
from talkclip_model.animate.nonverbal.layers import nonverbal_layers
from talkclip_model.animate.nonverbal.schedule import schedule_weights
from talkclip_model.arkit import ARTICULATION_CHANNELS, INDEX, NUM_CHANNELS
from talkclip_model.types import (
    DYNAMICS,
    ExpressionTrack,
    PhoneTrack,
    Prosody,
    SpeakingStyle,
)

# While speaking, the held expression on the articulators drops to this share so that, e.g.,
# an angry press of the lips does not stop the mouth from opening on vowels.
SPEECH_ARTICULATOR_SHARE = 0.35
SPEAKING_SMOOTH_S = 0.12
SCHEDULE_TRANSITION_S = 0.4
LAYER_NAMES = ("lips", "expression", "eyes", "emphasis")
_ARTIC_COLS = np.array([INDEX[c] for c in ARTICULATION_CHANNELS])


def frame_count(duration: float, fps: float) -> int:
    """Frames covering ``duration`` seconds at ``fps``: frame i is at i/fps, last at or before the end."""
    return max(1, int(np.floor(duration * fps + 1e-6)) + 1)


def speaking_curve(phones: PhoneTrack, times: np.ndarray) -> np.ndarray:
    """(T,) 0..1: how much the speaker is talking around each frame (smoothed)."""
    talking = phones.covering(times).astype(np.float64)
    if len(times) < 3:
        return talking
    step = float(times[1] - times[0])
    half = max(1, int(round(SPEAKING_SMOOTH_S / step)))
    kernel = np.hanning(2 * half + 1)
    kernel /= kernel.sum()
    # "full" then the centred slice: mode="same" returns the kernel's length when the line is
    # shorter than the kernel (a 0.1 s "Hi!")
    smooth = np.convolve(talking, kernel, mode="full")[half:half + len(talking)]
    return np.clip(smooth, 0.0, 1.0)


def style_curves(styles: Sequence[tuple[float, SpeakingStyle]], times: np.ndarray):
    """Per-frame baseline (T, 52) and dynamics {name: (T,)} from a schedule of styles."""
    if len(styles) == 1:
        s = styles[0][1]
        base = np.broadcast_to(s.arkit.astype(np.float64), (len(times), NUM_CHANNELS)).copy()
        dyn = {k: np.full(len(times), float(s.dynamics[k])) for k in DYNAMICS}
        return base, dyn
    weights = schedule_weights(times, [t for t, _ in styles], transition=SCHEDULE_TRANSITION_S)  # (T, K)
    base = weights @ np.stack([s.arkit for _, s in styles]).astype(np.float64)
    dyn = {k: weights @ np.array([s.dynamics[k] for _, s in styles], dtype=np.float64) for k in DYNAMICS}
    return base, dyn


def decode(phones: PhoneTrack, prosody: Prosody, style: SpeakingStyle, fps: float, seed: int = 0,
           schedule: Sequence[tuple[float, SpeakingStyle]] = (), audio_arousal: bool = True) -> ExpressionTrack:
    n = frame_count(phones.duration, fps)
    times = np.arange(n) / fps
    styles = [(0.0, style)] + sorted(schedule, key=lambda x: x[0])
    baseline, dynamics = style_curves(styles, times)

    lips = articulation.articulate(phones, times, prosody, articulation=dynamics["articulation"]).astype(np.float32)
    extra = nonverbal_layers(phones, prosody, dynamics, fps, n, seed, audio_arousal=audio_arousal)

    speaking = speaking_curve(phones, times)
    expression = (baseline * (dynamics["expressiveness"] * extra.arousal)[:, None]).astype(np.float32)
    damp = 1.0 - (1.0 - SPEECH_ARTICULATOR_SHARE) * speaking
    expression[:, _ARTIC_COLS] *= damp[:, None]

    # brows already knitted by the style (anger, concentration) rise less on accents
    emphasis = extra.emphasis  # float32, scaled in place below
    knit = 0.5 * (expression[:, INDEX["browDownLeft"]] + expression[:, INDEX["browDownRight"]])
    emphasis *= np.clip(1.0 - 0.7 * knit, 0.2, 1.0)[:, None]
    layers = {"lips": lips, "expression": expression, "eyes": extra.eyes,
              "emphasis": emphasis}
    total = sum(layers.values())
    articulation.enforce_contacts(total, phones, times, layers["lips"])
    arkit = np.clip(total, 0.0, 1.0)
    meta = {"layers": list(LAYER_NAMES), "blinks": [round(float(b), 3) for b in extra.blinks]}
    return ExpressionTrack(fps=fps, arkit=arkit, head=extra.head, phones=phones,
                           layers=layers, meta=meta)
