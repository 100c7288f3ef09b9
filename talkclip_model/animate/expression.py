"""The held expression (the "expression" layer) and how the summed face is finished.

- ``held_expression``: the style's held weights, scaled by expressiveness and the voice's arousal,
  breathing (a slow wave over the take and a 0.2-1 Hz drift of a few percent, partly independent
  per side), one side a little stronger, and easing off the articulators while speaking.
- ``face_arousal``: the arousal multiplier the expression and secondary layers use: the
  non-verbal layers' within-take curve times a take-level factor measured against fixed
  references, so a loud, lively line and a quiet, flat one differ (the within-take curve alone
  averages about 1 on every take).
- ``finish_face``: conflicting actions resolved on the summed face (the stronger mostly wins) and
  a soft knee above ``KNEE`` so no channel sits pinned at 1.0; the correction goes into the
  expression layer so the layers still add up.
"""

from __future__ import annotations

import numpy as np

from talkclip_model.animate.nonverbal.cues import GRID_HZ, grid_for
from talkclip_model.arkit import ARKIT_NAMES, ARTICULATION_CHANNELS, INDEX, NUM_CHANNELS
from talkclip_model.types import PhoneTrack, Prosody

# While speaking, the held expression on the articulators drops to this share so that, e.g.,
# an angry press of the lips does not stop the mouth from opening on vowels.
SPEECH_ARTICULATOR_SHARE = 0.35
_ARTIC_COLS = np.array([INDEX[c] for c in ARTICULATION_CHANNELS])

BREATH_SLOW = 0.10  # the held expression waxes and wanes by about this share over the take
BREATH_SLOW_HZ = (0.04, 0.2)
BREATH_FAST = 0.05  # ... and drifts by a few percent at 0.2-1 Hz, per face region and side
BREATH_FAST_HZ = (0.2, 1.0)

# Take-level arousal against fixed references (not the take's own median): speech level in
# dBFS (nominal dialogue recording level) and pitch range in semitones.
REF_LEVEL_DB = -20.0
LEVEL_SCALE_DB = 8.0
REF_PITCH_RANGE_ST = 4.0
PITCH_RANGE_SCALE_ST = 4.0
TAKE_AROUSAL_GAIN = 0.2  # multiplier exp(0.2 * score): about 0.82 .. 1.22

BLINK_SHUT = 0.85  # lid closure by which eyeWide and eyeSquint have given way completely

KNEE = 0.8  # above this the summed face is compressed softly toward 1.0
_NO_KNEE = np.array([INDEX[n] for n in ("eyeBlinkLeft", "eyeBlinkRight")])  # blinks must close fully

# Actions that fight: (dominant, yielding, (lo, hi)). Where the dominant action is stronger and
# the yielding one is under ``lo`` times it, the yielding one is mostly gone; over ``hi`` times it
# both stay. A knit brow cancels an inner raise it dominates (AU 4 over AU 1 reads as worry, not
# anger), but an inner raise with some knit under it stays (fear, sadness: AU 1+4); a smile and a
# frown on one side give way to each other.
CONFLICTS = (
    (("browDownLeft", "browDownRight"), ("browInnerUp",), (0.5, 1.0)),
    (("mouthSmileLeft",), ("mouthFrownLeft",), (0.3, 0.65)),
    (("mouthFrownLeft",), ("mouthSmileLeft",), (0.3, 0.65)),
    (("mouthSmileRight",), ("mouthFrownRight",), (0.3, 0.65)),
    (("mouthFrownRight",), ("mouthSmileRight",), (0.3, 0.65)),
)
CONFLICT_FLOOR = 0.1  # share of the yielding action that always survives

REGIONS = ("brow", "eye", "mouth", "cheek", "nose", "jaw", "tongue")


def channel_side(name: str) -> int:
    """0 left, 1 right, 2 centre (a channel ARKit has once)."""
    return 0 if name.endswith("Left") else 1 if name.endswith("Right") else 2


def channel_region(name: str) -> int:
    return next(i for i, r in enumerate(REGIONS) if name.startswith(r))


# noise column of each channel: region * 3 + side
NOISE_COLUMN = np.array([channel_region(n) * 3 + channel_side(n) for n in ARKIT_NAMES])
NOISE_COLUMNS = len(REGIONS) * 3


def band_noise(rng: np.random.Generator, times: np.ndarray, band_hz: tuple[float, float], count: int) -> np.ndarray:
    """(T, count) unit-variance noise band-limited to about ``band_hz``, at ``times`` (seconds).

    Simulated on the 100 Hz grid in seconds and sampled at the frames, so every fps gives the same
    motion; the draws fill the grid in time order, so a longer take starts the same way."""
    lo_hz, hi_hz = band_hz
    sig_hi, sig_lo = 0.13 / hi_hz * GRID_HZ, 0.13 / lo_hz * GRID_HZ  # Gaussian widths in grid steps
    half = int(np.ceil(3 * sig_lo))
    x = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (x / sig_hi) ** 2) / sig_hi - np.exp(-0.5 * (x / sig_lo) ** 2) / sig_lo
    kernel /= np.sqrt(np.sum(kernel ** 2))  # unit variance for unit white noise
    grid = grid_for(float(times[-1]) if len(times) else 0.0)
    white = rng.standard_normal((len(grid) + 2 * half, count))
    out = np.empty((len(times), count))
    for j in range(count):
        out[:, j] = np.interp(times, grid, np.convolve(white[:, j], kernel, mode="valid"))
    return out


def take_arousal(prosody: Prosody, phones: PhoneTrack | None = None) -> float:
    """Signed arousal of the whole take, -1 .. 1, against fixed references: louder speech and a
    wider pitch range read as more aroused. 0 when there is too little speech to tell."""
    loud = np.asarray(prosody.loudness_db, dtype=np.float64)
    if len(loud) < 20 or not np.any(np.isfinite(loud)):
        return 0.0
    loud = np.where(np.isfinite(loud), loud, -120.0)
    floor, peak = float(np.percentile(loud, 10)), float(np.percentile(loud, 95))
    speech = loud > floor + 0.5 * max(peak - floor, 6.0)
    if phones is not None and len(phones):
        speech &= phones.covering(prosody.times)
    if speech.sum() < 20:
        return 0.0
    z_level = (float(np.percentile(loud[speech], 90)) - REF_LEVEL_DB) / LEVEL_SCALE_DB
    pitch, voicing = np.asarray(prosody.pitch_hz, np.float64), np.asarray(prosody.voicing, np.float64)
    voiced = speech & (pitch > 40.0) & (voicing > 0.6)
    z_range = 0.0
    if voiced.sum() >= 20:
        st = 12.0 * np.log2(pitch[voiced] / np.median(pitch[voiced]))
        iqr = float(np.subtract(*np.percentile(st, [75, 25])))  # robust to octave errors in the tails
        z_range = float(np.clip((iqr - REF_PITCH_RANGE_ST) / PITCH_RANGE_SCALE_ST, -1.5, 1.5))
    return float(np.tanh(0.7 * np.clip(z_level, -2.0, 2.0) + 0.3 * z_range))


def face_arousal(frame_arousal: np.ndarray, prosody: Prosody, phones: PhoneTrack | None,
                 enabled: bool) -> tuple[np.ndarray, float]:
    """(T,) expression-intensity multiplier and the take's arousal score (-1 .. 1)."""
    if not enabled:
        return np.ones(len(frame_arousal)), 0.0
    score = take_arousal(prosody, phones)
    return np.asarray(frame_arousal, np.float64) * np.exp(TAKE_AROUSAL_GAIN * score), score


def held_expression(baseline: np.ndarray, expressiveness: np.ndarray, arousal: np.ndarray, speaking: np.ndarray,
                    breath_slow: np.ndarray, breath_fast: np.ndarray, side_gain: np.ndarray) -> np.ndarray:
    """(T, 52) expression layer.

    ``baseline`` (T, 52) held weights; ``expressiveness``, ``arousal``, ``speaking`` (T,);
    ``breath_slow`` (T,) and ``breath_fast`` (T, NOISE_COLUMNS) unit noise; ``side_gain`` (52,)
    per-channel gain that makes one side a little stronger."""
    breath = 1.0 + BREATH_SLOW * breath_slow[:, None] + BREATH_FAST * breath_fast[:, NOISE_COLUMN]
    scale = (np.asarray(expressiveness) * np.asarray(arousal))[:, None]
    expression = baseline * scale * np.clip(breath, 0.5, 1.5) * side_gain[None, :]
    damp = 1.0 - (1.0 - SPEECH_ARTICULATOR_SHARE) * speaking
    expression[:, _ARTIC_COLS] *= damp[:, None]
    return expression.astype(np.float32)


def yield_to_blink(layer: np.ndarray, eyes: np.ndarray) -> None:
    """eyeWide and eyeSquint in ``layer`` (T, 52) give way while the lids in ``eyes`` (T, 52) close,
    completely by ``BLINK_SHUT`` (the shallowest blink's peak), so every blink closes; each side
    follows its own lid."""
    for side in ("Left", "Right"):
        keep = 1.0 - np.clip(np.asarray(eyes[:, INDEX["eyeBlink" + side]], np.float64) / BLINK_SHUT, 0.0, 1.0)
        keep = keep.astype(layer.dtype)  # linear in the lid: the wide lid comes down with the blink
        for name in ("eyeWide", "eyeSquint"):
            layer[:, INDEX[name + side]] *= keep


def soft_saturate(x: np.ndarray, knee: float = KNEE) -> np.ndarray:
    """Identity up to ``knee``, then a smooth curve toward 1 that keeps a slope (u / sqrt(1 + u^2)):
    1.0 maps to about 0.94, 1.4 to 0.99 and 2.5 to 0.9986, so a strong held action keeps moving."""
    u = np.maximum(x - knee, 0.0) / (1.0 - knee)
    return np.where(x > knee, knee + (1.0 - knee) * u / np.sqrt(1.0 + u * u), x)


def resolve_conflicts(total: np.ndarray) -> np.ndarray:
    """(T, 52) change that makes a yielding action give way to the one it fights (0 where none fight)."""
    change = np.zeros_like(total)
    for strong_names, weak_names, (lo, hi) in CONFLICTS:
        strong = np.mean([total[:, INDEX[n]] for n in strong_names], axis=0)
        weak = np.mean([total[:, INDEX[n]] for n in weak_names], axis=0)
        x = np.clip((np.clip(weak, 0.0, None) / np.maximum(strong, 1e-6) - lo) / (hi - lo), 0.0, 1.0)
        keep = np.where(strong > weak, CONFLICT_FLOOR + (1.0 - CONFLICT_FLOOR) * x * x * (3.0 - 2.0 * x), 1.0)
        for n in weak_names:
            change[:, INDEX[n]] += (keep - 1.0) * np.clip(total[:, INDEX[n]], 0.0, None)
    return change


def finish_face(total: np.ndarray, expression: np.ndarray) -> None:
    """Resolve conflicts and soften saturation on the summed face ``total`` (T, 52), in place;
    the correction is added to ``expression`` so the layers still add up to ``total``."""
    before = total.copy()
    total += resolve_conflicts(total)
    knee = np.ones(NUM_CHANNELS, bool)
    knee[_NO_KNEE] = False
    total[:, knee] = soft_saturate(total[:, knee])
    expression += (total - before).astype(expression.dtype)
