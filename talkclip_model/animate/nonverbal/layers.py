"""The non-verbal layers of a take (eyes, brow emphasis, head, arousal), simulated on the 100 Hz
grid and sampled at the frames; see the package docstring and docs/nonverbal.md."""


from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from talkclip_model.animate.nonverbal.cues import (
    arousal_multiplier,
    dynamics_on,
    extract_cues,
    grid_for,
    one_pole,
)
from talkclip_model.animate.nonverbal.emphasis import brow_raises, emphasis_layer
from talkclip_model.animate.nonverbal.eyes import (
    VOR_GAIN,
    blink_curve,
    blink_events,
    eye_layer,
    gaze_curve,
    gaze_events,
)
from talkclip_model.animate.nonverbal.head import head_track
from talkclip_model.arkit import EYE_RANGE_RAD
from talkclip_model.types import PhoneTrack, Prosody

WIDE_PER_BROW = 0.25  # eyes widen a little with the outer brows' raise
HEAD_FOLLOW = 0.3  # share of a look-away the head turns with
HEAD_FOLLOW_TAU_S = 0.25  # ... lagging the eyes by about this much


@dataclass(frozen=True)
class NonverbalLayers:
    eyes: np.ndarray  # (T, 52) eyeBlink*, eyeLook*, small eyeSquint/eyeWide; 0 elsewhere
    emphasis: np.ndarray  # (T, 52) browInnerUp, browOuterUp*, browDown* on accents; 0 elsewhere
    head: np.ndarray  # (T, 3) pitch (+ looks down), yaw (+ turns left), roll (+ tilts left), rad
    arousal: np.ndarray  # (T,) expression-intensity multiplier around 1 (about 0.73..1.38)
    blinks: np.ndarray  # (K,) blink start times, seconds


def nonverbal_layers(phones: PhoneTrack | None, prosody: Prosody, dynamics: Mapping[str, np.ndarray],
                     fps: float, n_frames: int, seed: int | None = None,
                     audio_arousal: bool = True) -> NonverbalLayers:
    """Eyes, emphasis and head layers for ``n_frames`` frames at ``fps`` (frame i at i / fps).

    ``seed`` None seeds the random streams from the take itself (``prosody_seed``): different
    lines move differently and the same line repeats. The pipeline passes the seed of the audio
    samples (``pipeline.audio_seed``) instead, which it records in the track's meta.

    ``dynamics`` maps DYNAMICS keys to per-frame arrays (T,) (scalars and missing keys fall back
    sensibly). The arousal multiplier is already applied inside the head energy and the brow
    raises; the decoder applies ``arousal`` to the expression layer only.
    """
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"nonverbal_layers: fps must be positive, got {fps}")
    n_frames = int(n_frames)
    if n_frames < 0:
        raise ValueError(f"nonverbal_layers: n_frames must not be negative, got {n_frames}")
    frame_t = np.arange(n_frames) / fps
    duration = max(float(prosody.duration), float(phones.duration) if phones is not None else 0.0,
                   n_frames / fps)
    t = grid_for(duration)  # (N,) seconds, whole seconds long: the same for every fps
    dyn = dynamics_on(dynamics, fps, t)
    cues = extract_cues(phones, prosody, t)

    rng_blink, rng_gaze, rng_noise, rng_beats, rng_brows = part_streams(
        prosody_seed(prosody) if seed is None else seed)
    gain = arousal_multiplier(cues.arousal_score) if audio_arousal else np.ones(len(t))  # (N,)

    at = lambda key: (lambda x: float(np.interp(x, t, dyn[key])))  # noqa: E731
    gaze_ev = gaze_events(float(t[-1]), at("gaze_aversion"), at("gaze_pitch"), rng_gaze)
    # The head turns part of the way with a look-away, lagging the eyes.
    away = gaze_ev.away[np.clip(np.searchsorted(gaze_ev.start, t, side="right") - 1, 0, None)]
    gaze_grid = gaze_curve(gaze_ev, t) * away[:, None]  # (N, 2) yaw, pitch; 0 during eye contact
    follow = np.stack([one_pole(gaze_grid[:, 1], HEAD_FOLLOW_TAU_S), one_pole(gaze_grid[:, 0], HEAD_FOLLOW_TAU_S)],
                      axis=1) * HEAD_FOLLOW * EYE_RANGE_RAD  # (N, 2) pitch, yaw radians

    pose, motion = head_track(cues, dyn, gain, rng_noise, rng_beats, follow)  # (N, 3) each
    brows = brow_raises(cues, dyn["expressiveness"], gain, rng_brows)  # (N, 5)

    jumps = np.hypot(*np.diff(np.vstack([np.zeros((1, 2)), gaze_ev.target]), axis=0).T)
    jumps[0] = 0.0  # the first "saccade" only places the eyes at the start
    blink_ev = blink_events(cues, dyn["blink_rate"], gaze_ev.start[jumps > 0.2], rng_blink)

    return _on_frames(frame_t, n_frames / fps, t, pose, motion, brows, gaze_ev, blink_ev,
                      gain if audio_arousal else None)


def part_streams(seed: int) -> tuple[np.random.Generator, ...]:
    """Blinks, gaze, head noise, beats and bursts, brows: one stream each from one seed."""
    seed = int(seed) % 2**64  # PCG64 wants a non-negative seed; a negative one still works
    streams = np.random.Generator(np.random.PCG64(seed)).integers(0, 2**63 - 1, size=5)
    return tuple(np.random.Generator(np.random.PCG64(int(s))) for s in streams)


def prosody_seed(prosody: Prosody) -> int:
    """A seed from the take's loudness and pitch (rounded to 0.1 dB / 1 Hz before hashing), for
    callers that have no audio samples to hash."""
    digest = hashlib.sha256()
    for values, step in ((prosody.loudness_db, 0.1), (prosody.pitch_hz, 1.0)):
        arr = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        digest.update(np.rint(arr / step).astype("<i4").tobytes())
    return int.from_bytes(digest.digest()[:4], "big") & 0x7FFFFFFF


def _on_frames(frame_t, end, t, pose, motion, brows, gaze_ev, blink_ev, gain) -> NonverbalLayers:
    """Sample the 100 Hz simulation (grid ``t``) at the frame times and build the layers; blinks
    starting at or after ``end`` (seconds) are dropped."""
    n_frames = len(frame_t)
    on_frames = lambda x: np.interp(frame_t, t, x)  # noqa: E731
    head = np.stack([on_frames(pose[:, k]) for k in range(3)], axis=1)  # (T, 3)
    gaze = gaze_curve(gaze_ev, frame_t)  # (T, 2) yaw, pitch in eyeLook units
    # Vestibulo-ocular reflex: the eyes counter-rotate against the head's motion to hold a target.
    gaze[:, 0] -= VOR_GAIN * on_frames(motion[:, 1]) / EYE_RANGE_RAD
    gaze[:, 1] -= VOR_GAIN * on_frames(motion[:, 0]) / EYE_RANGE_RAD
    brow_f = np.stack([on_frames(brows[:, k]) for k in range(brows.shape[1])], axis=1)  # (T, 5)
    blink = blink_curve(blink_ev, frame_t)  # (T,)
    eyes = eye_layer(blink, gaze, WIDE_PER_BROW * 0.5 * (brow_f[:, 1] + brow_f[:, 2]))
    arousal = on_frames(gain) if gain is not None else np.ones(n_frames)
    return NonverbalLayers(
        eyes=eyes,  # both (T, 52) layers are built as float32
        emphasis=emphasis_layer(brow_f),
        head=head.astype(np.float32),
        arousal=arousal.astype(np.float32),
        blinks=blink_ev.start[blink_ev.start < end].astype(np.float64),
    )
