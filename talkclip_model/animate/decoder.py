"""Phones + prosody + speaking style -> ExpressionTrack (52 ARKit channels + head rotation).

The face is built from additive layers that stay separable for animators:
  lips        mouth, jaw and tongue from the phones (articulation.py)
  expression  the style's held expression, breathing with arousal and over the take, one side a
              little stronger, easing off the articulators while speaking (expression.py)
  secondary   what a real face does while talking besides: resting tone, cheeks and nose with
              the upper lip, dimples, jaw and mouth sideways, cheek puffs, uneven sides (secondary.py)
  eyes        blinks and gaze (nonverbal)
  emphasis    brow raises on pitch accents (nonverbal)
eyeWide and eyeSquint of the expression and secondary layers give way to blinks. On the sum,
fighting actions are resolved and a soft knee keeps channels off 1.0 (the change goes into the
expression layer); then contacts (p/b/m closures, f/v) are enforced and written back into the
lips layer, so the layers still add up exactly. ``arkit`` is the sum clipped to 0..1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from talkclip_model.animate import articulation
from talkclip_model.animate.expression import (
    NOISE_COLUMNS,
    band_noise,
    face_arousal,
    finish_face,
    held_expression,
    yield_to_blink,
)
from talkclip_model.animate.nonverbal.layers import nonverbal_layers
from talkclip_model.animate.nonverbal.schedule import schedule_weights
from talkclip_model.animate.secondary import Traits, draw_traits, secondary_layer
from talkclip_model.arkit import INDEX, NUM_CHANNELS
from talkclip_model.types import (
    DYNAMICS,
    ExpressionTrack,
    PhoneTrack,
    Prosody,
    SpeakingStyle,
)

SPEAKING_SMOOTH_S = 0.12
SCHEDULE_TRANSITION_S = 0.4
LAYER_NAMES = ("lips", "expression", "secondary", "eyes", "emphasis")
EXPRESSION_SALT = 0x15E0  # the expression side's random streams, apart from the non-verbal ones


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


def _streams(seed: int, count: int) -> list[np.random.Generator]:
    """Independent generators for the expression side (one per use, so a longer take or another
    fps draws the same values in each), apart from the non-verbal layers' streams."""
    seq = np.random.SeedSequence([int(seed) % 2**64, EXPRESSION_SALT])
    return [np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(count)]


def _noise(seed: int, times: np.ndarray) -> tuple[Traits, np.ndarray, np.ndarray, np.ndarray]:
    """Per-take traits, the held expression's breathing (slow (T,), fast (T, NOISE_COLUMNS)) and
    the secondary layer's drift (T, NOISE_COLUMNS + 3)."""
    rng = _streams(seed, 6)
    traits = draw_traits(rng[0])
    slow, fast = band_noise(rng[1], times, (0.04, 0.2), 1)[:, 0], band_noise(rng[2], times, (0.2, 1.0), NOISE_COLUMNS)
    drift = np.hstack([band_noise(rng[3], times, (0.2, 1.0), NOISE_COLUMNS),
                       band_noise(rng[4], times, (0.04, 0.2), 1), band_noise(rng[5], times, (0.1, 0.6), 2)])
    return traits, slow, fast, drift


def decode(phones: PhoneTrack, prosody: Prosody, style: SpeakingStyle, fps: float, seed: int = 0,
           schedule: Sequence[tuple[float, SpeakingStyle]] = (), audio_arousal: bool = True) -> ExpressionTrack:
    n = frame_count(phones.duration, fps)
    times = np.arange(n) / fps
    styles = [(0.0, style)] + sorted(schedule, key=lambda x: x[0])
    baseline, dynamics = style_curves(styles, times)

    lips = articulation.articulate(phones, times, prosody, articulation=dynamics["articulation"]).astype(np.float32)
    extra = nonverbal_layers(phones, prosody, dynamics, fps, n, seed, audio_arousal=audio_arousal)
    arousal, take_arousal = face_arousal(extra.arousal, prosody, phones, audio_arousal)
    traits, breath_slow, breath_fast, drift = _noise(seed, times)

    speaking = speaking_curve(phones, times)
    expressiveness = dynamics["expressiveness"]
    expression = held_expression(baseline, expressiveness, arousal, speaking, breath_slow, breath_fast,
                                 traits.side_gain)
    secondary = secondary_layer(lips, speaking, phones, times, 0.4 + 0.6 * expressiveness, arousal, traits, drift,
                                held=baseline)
    yield_to_blink(expression, extra.eyes)
    yield_to_blink(secondary, extra.eyes)

    # brows already knitted by the style (anger, concentration) rise less on accents
    emphasis = extra.emphasis  # float32, scaled in place below
    knit = 0.5 * (expression[:, INDEX["browDownLeft"]] + expression[:, INDEX["browDownRight"]])
    emphasis *= np.clip(1.0 - 0.7 * knit, 0.2, 1.0)[:, None]
    layers = {"lips": lips, "expression": expression, "secondary": secondary, "eyes": extra.eyes,
              "emphasis": emphasis}
    total = lips + expression + secondary + extra.eyes + emphasis
    finish_face(total, layers["expression"])
    articulation.enforce_contacts(total, phones, times, layers["lips"])
    arkit = np.clip(total, 0.0, 1.0)
    meta = {"layers": list(LAYER_NAMES), "blinks": [round(float(b), 3) for b in extra.blinks],
            "arousal": round(take_arousal, 3)}
    return ExpressionTrack(fps=fps, arkit=arkit, head=extra.head, phones=phones,
                           layers=layers, meta=meta)
