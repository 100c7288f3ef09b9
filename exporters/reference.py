"""Reference takes: a SpeakingStyle from real animation ("make it look like this take";
``talkclip generate --style-from TAKE`` calls ``style_from_capture``).

``style_from_track`` reads what a take holds and how it moves:

- held expression (``arkit``): for channels speech does not drive, the median over the take
  (robust to blinks and brief expressions); for articulation channels (jaw, lips, tongue) the
  20th percentile, the rest position the mouth returns to between sounds, so the style biases
  speech without freezing it; eyeLook channels are 0 (gaze goes to ``gaze_*`` below).
- ``blink_rate``: blinks per minute, counted as rises of the mean eyeBlink above 0.5 that fall
  back below 0.3, at least 0.1 s apart.
- ``expressiveness``: the spread (10th-90th percentile) of the expression channels, relative to
  a typical conversational take (``EXPRESSION_SPREAD_REF``).
- ``articulation``: the 95th percentile of jawOpen relative to typical speech (``JAW_P95_REF``).
- head (only when the take has head rotation, i.e. not all zeros): pose bias from the median
  pitch/yaw/roll, ``head_motion`` from the rotation's standard deviation relative to
  ``HEAD_STD_REF``, ``nod``/``shake`` from pitch/yaw angular speed.
- gaze: ``gaze_pitch`` from the median upward look of both eyes (``eye_look_to_gaze``),
  ``gaze_aversion`` as the share of frames where any eyeLook channel exceeds 0.35.

``track_from_channels(names, values, fps)`` turns a character's own channels (a baked shape-key
action, read by the Blender layer) back into an ARKit track through the retarget profiles, so any
rig's take can be a reference.

``mix_styles([(style, weight), ...])`` mixes a take's style with prompt styles: weights are
clamped to 0..1 and normalised, held values and dynamics are averaged (and clamped to their
ranges by SpeakingStyle).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import numpy as np

from exporters.formats import read_track
from exporters.retarget import detect_profile, load_profile, to_arkit
from talkclip_model.arkit import (
    ARKIT_NAMES,
    ARTICULATION_CHANNELS,
    INDEX,
    NUM_CHANNELS,
    eye_look_to_gaze,
)
from talkclip_model.errors import TalkclipError
from talkclip_model.types import (
    DYNAMICS,
    ExpressionTrack,
    SpeakingStyle,
    clamp_dynamics,
    default_dynamics,
)

EXPRESSION_SPREAD_REF = 0.10  # mean p10-p90 spread of expression channels in conversational takes
JAW_P95_REF = 0.35  # 95th percentile of jawOpen in ordinary speech
HEAD_STD_REF = 0.05  # radians: rotation spread of a moderately animated speaker
HEAD_SPEED_REF = 0.4  # radians per second: angular speed that counts as a clear nod/shake
BLINK_ON, BLINK_OFF, BLINK_GAP = 0.5, 0.3, 0.1
GAZE_AWAY = 0.35

_LOOK = tuple(i for i, n in enumerate(ARKIT_NAMES) if n.startswith("eyeLook"))
_BLINK = (INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"])
_ARTIC = tuple(INDEX[n] for n in ARTICULATION_CHANNELS)
_EXPRESSION = tuple(i for i in range(NUM_CHANNELS) if i not in _LOOK and i not in _ARTIC and i not in _BLINK)


def count_blinks(blink: np.ndarray, fps: float) -> int:
    """Rises of ``blink`` (T,) above BLINK_ON that fall below BLINK_OFF before the next one."""
    count, closed, last = 0, False, -math.inf
    for i, v in enumerate(np.asarray(blink, dtype=np.float32)):
        if not closed and v >= BLINK_ON and (i - last) / fps >= BLINK_GAP:
            count, closed, last = count + 1, True, i
        elif closed and v <= BLINK_OFF:
            closed = False
    return count


def style_from_track(track: ExpressionTrack, prompt: str = "") -> SpeakingStyle:
    """Extract a SpeakingStyle from a take (see the module docstring for each statistic)."""
    a = np.asarray(track.arkit, dtype=np.float32)  # (T, 52)
    if len(a) < 2:
        raise TalkclipError("a reference take needs at least 2 frames")
    held = np.median(a, axis=0)
    held[list(_ARTIC)] = np.percentile(a[:, _ARTIC], 20, axis=0)
    held[list(_LOOK)] = 0.0
    dyn = default_dynamics()
    minutes = track.duration / 60.0
    if track.duration >= 5.0:  # too short a take says nothing about blink rate
        dyn["blink_rate"] = count_blinks(a[:, _BLINK].mean(axis=1), track.fps) / minutes
    spread = np.percentile(a[:, _EXPRESSION], 90, axis=0) - np.percentile(a[:, _EXPRESSION], 10, axis=0)
    dyn["expressiveness"] = float(spread.mean()) / EXPRESSION_SPREAD_REF
    dyn["articulation"] = float(np.percentile(a[:, INDEX["jawOpen"]], 95)) / JAW_P95_REF
    head = np.asarray(track.head, dtype=np.float32)  # (T, 3) pitch, yaw, roll
    if np.any(head != 0):
        bias = np.median(head, axis=0)
        dyn["head_pitch"], dyn["head_yaw"], dyn["head_roll"] = (float(x) for x in bias)
        dyn["head_motion"] = float(np.linalg.norm(head.std(axis=0))) / HEAD_STD_REF
        speed = np.abs(np.diff(head, axis=0)) * track.fps  # (T-1, 3) rad/s
        dyn["nod"] = float(np.percentile(speed[:, 0], 90)) / HEAD_SPEED_REF
        dyn["shake"] = float(np.percentile(speed[:, 1], 90)) / HEAD_SPEED_REF
    down = eye_look_to_gaze(a)[:, :, 1].mean(axis=1)  # (T,) pitch of both eyes, + = down
    dyn["gaze_pitch"] = float(np.median(-down))
    dyn["gaze_aversion"] = float(np.mean(a[:, _LOOK].max(axis=1) > GAZE_AWAY))
    return SpeakingStyle(arkit=held, dynamics=clamp_dynamics(dyn), prompt=prompt)


def track_from_channels(names: list[str], values: np.ndarray, fps: float, profile=None,
                        head: np.ndarray | None = None) -> ExpressionTrack:
    """An ARKit ExpressionTrack from a character's own channels, e.g. a baked shape-key action
    gathered by the Blender layer: ``values`` (T, len(names)) are bound through ``profile``
    (detected when None) and mapped back with ``retarget.to_arkit`` (exact for ARKit spellings)."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or values.shape[1] != len(names):
        raise TalkclipError(f"channel values have shape {values.shape}, expected (frames, {len(names)})")
    if not np.all(np.isfinite(values)):
        raise TalkclipError("channel values hold NaN or infinity")
    if profile is None:
        detection = detect_profile(names)
    else:
        detection = (load_profile(profile) if isinstance(profile, (str, Path)) else profile).bind(names)
    if not detection.binding:
        raise TalkclipError(f"profile {detection.base.name} matches none of the channels")
    column = {n: j for j, n in enumerate(names)}
    bound = values[:, [column[n] for n in detection.profile.targets]]  # (T, n_bound)
    arkit = to_arkit(detection, bound)
    head = np.zeros((len(values), 3), np.float32) if head is None else head
    try:
        return ExpressionTrack(fps=fps, arkit=arkit, head=head, meta={"profile": detection.base.name})
    except ValueError as exc:
        raise TalkclipError(f"reference take: {exc}") from None


def style_from_capture(path, prompt: str | None = None) -> SpeakingStyle:
    """SpeakingStyle of a take file: Live Link Face CSV (.csv, .csv.gz), track JSON or NPZ."""
    track = read_track(path)
    if track.num_frames < 2:
        raise TalkclipError(f"{path}: a reference take needs at least 2 frames")
    return style_from_track(track, prompt=prompt if prompt is not None else f"like {Path(path).name}")


def mix_styles(parts: Iterable[tuple[SpeakingStyle, float]]) -> SpeakingStyle:
    """Weighted mix of styles; weights clamped to 0..1, then normalised to sum to 1."""
    parts = list(parts)
    if not parts:
        raise TalkclipError("mix_styles needs at least one (style, weight) pair")
    weights = []
    for style, w in parts:
        w = float(w)
        if not math.isfinite(w):
            raise TalkclipError(f"style weight {w} is not a finite number")
        weights.append(min(max(w, 0.0), 1.0))
    total = sum(weights)
    if total <= 0:
        raise TalkclipError("style weights are all zero")
    weights = [w / total for w in weights]
    arkit = np.sum([w * s.arkit.astype(np.float64) for (s, _), w in zip(parts, weights)], axis=0)
    dyn = {k: sum(w * float(s.dynamics[k]) for (s, _), w in zip(parts, weights)) for k in DYNAMICS}
    prompt = " + ".join(f'{w:.2g}*"{s.prompt}"' for (s, _), w in zip(parts, weights) if w > 0)
    return SpeakingStyle(arkit=arkit, dynamics=clamp_dynamics(dyn), prompt=prompt)
