"""Blinks and gaze, rendered at the output frame times from events timed in seconds.

Calibrated on the Live Link Face captures in ../shared/data (60 Hz neurosync takes): blinks last
0.16-0.40 s (median about 0.23 s; half-closure width 0.08-0.17 s), close in about 70-90 ms and
open in 120-220 ms; saccades take 33-50 ms with a median amplitude of about 0.13 eyeLook units;
fixations last 0.4-3 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkclip_model.animate.nonverbal.cues import GRID_DT, Cues, bump
from talkclip_model.arkit import INDEX, NUM_CHANNELS

# Blinks
BLINK_DEAD_S = 0.3  # no blink starts within this time of the previous start
BLINK_RECOVERY_S = 0.5  # ... then the hazard ramps back up over this long
BLINK_REGULARITY = 2.0  # gamma shape of the hazard each blink needs: 1 is Poisson, higher is steadier
BLINK_URGE_AFTER = 1.3  # past this many mean intervals (at least 3 s) without a blink the hazard
BLINK_URGE_S = 1.5  # grows as 1 + (overdue / 1.5 s)^2: no 9-12 s stares at a normal rate
BLINK_FIRST_S = 0.15  # no blink on the very first frames
TALK_BLINK_GAIN = 0.0  # speaking raises the rate by up to this share (conversation blinks more)
BLINK_DURATION_MEDIAN_S = 0.20
BLINK_DURATION_SIGMA = 0.3  # log-normal spread of the duration
BLINK_DURATION_RANGE_S = (0.12, 0.55)
BLINK_SLOW_P = 0.25  # share of pause blinks that are slow (x1.4-1.9), a few elsewhere
BLINK_CLOSE_FRACTION = (0.25, 0.40)  # closing takes this share of the blink (drawn per blink) ...
BLINK_HOLD_FRACTION = (0.02, 0.14)  # ... then a hold, then the opening takes the rest
BLINK_DOUBLE_P = 0.06  # chance that a blink is followed by a second one
PAUSE_BLINK_GAIN = 4.0  # extra hazard (x base) just after a pause onset
ACCENT_BLINK_GAIN = 0.8  # ... on an accent
SACCADE_BLINK_GAIN = 1.5  # ... with a large gaze shift

# Gaze (eyeLook units: 1.0 is about 0.6 rad of eye rotation)
FIXATION_MEDIAN_S = 1.1
FIXATION_RANGE_S = (0.4, 3.0)
CONTACT_SCATTER = (0.06, 0.04)  # yaw, pitch std of small saccades around eye contact
AWAY_YAW = (0.22, 0.45)
AWAY_PITCH = (0.05, 0.30)  # look-aways drift down a little
GAZE_PITCH_GAIN = 0.35  # gaze_pitch = -1 looks down by this much
VOR_GAIN = 0.6  # share of the head's own motion the eyes cancel to hold the target
LID_FOLLOW = 0.3  # upper lid follows a downward gaze (eyeBlink per unit of eyeLookDown)


@dataclass(frozen=True)
class BlinkEvents:
    start: np.ndarray  # (K,) seconds
    duration: np.ndarray  # (K,) seconds
    amplitude: np.ndarray  # (K,) 0..1
    close: np.ndarray  # (K,) share of the duration spent closing
    hold: np.ndarray  # (K,) share held shut


def blink_hazard(cues: Cues, rate_per_min: np.ndarray, saccades: np.ndarray) -> np.ndarray:
    """(N,) blinks per second before the dead time: the style's rate, a little higher while
    speaking, shaped by phrase boundaries, accents and large gaze shifts (the shape's mean is 1)."""
    t = cues.t
    boost = (PAUSE_BLINK_GAIN * bump(t, cues.pauses + 0.12, 1.0, 0.08, 0.25)
             + ACCENT_BLINK_GAIN * bump(t, cues.accents + 0.05, cues.accent_strength, 0.06, 0.15)
             + SACCADE_BLINK_GAIN * bump(t, saccades, 1.0, 0.03, 0.1))
    shape = 1.0 + boost
    shape /= shape.mean()
    rate = np.asarray(rate_per_min, dtype=np.float64) / 60.0 * (1.0 + TALK_BLINK_GAIN * cues.activity)
    # Intensity that yields the target rate despite the dead time (effective dead time about
    # dead + recovery / 2): observed = lam / (1 + lam * dead_eff).
    dead_eff = BLINK_DEAD_S + 0.5 * BLINK_RECOVERY_S
    return rate / np.maximum(1.0 - rate * dead_eff, 0.15) * shape


def blink_events(cues: Cues, rate_per_min: np.ndarray, saccades: np.ndarray, rng: np.random.Generator) -> BlinkEvents:
    """A renewal process on ``blink_hazard``: each blink needs a gamma-distributed amount of
    integrated hazard (steadier than Poisson), nothing starts in the dead time after a blink, the
    hazard recovers softly and grows once a blink is overdue. The take starts part-way through an
    interval, so the first blink may come at any time."""
    t = cues.t
    lam = blink_hazard(cues, rate_per_min, saccades)
    k = BLINK_REGULARITY
    need = rng.gamma(k, 1.0 / k)
    used = 1.0 - np.sqrt(rng.uniform())  # the take starts part-way through an interval (the residual
    # of a steady renewal process is longer than a uniform share of one)
    acc, last = need * used, -(BLINK_DEAD_S + BLINK_RECOVERY_S + 2.0 * used)
    events: list[tuple[float, float, float, float, float]] = []
    times, hazard, quiet = t.tolist(), lam.tolist(), (cues.activity < 0.5).tolist()  # plain floats: fast
    overdue_after = np.maximum(BLINK_URGE_AFTER * 60.0 / np.asarray(rate_per_min, dtype=np.float64)
                               * np.ones(len(t)), 3.0).tolist()
    for i in range(int(np.searchsorted(t, BLINK_FIRST_S)), len(times)):
        now = times[i]
        since = now - last
        if since < BLINK_DEAD_S:
            continue
        urge = 1.0 + max(since - overdue_after[i], 0.0) ** 2 / BLINK_URGE_S ** 2
        acc += hazard[i] * min((since - BLINK_DEAD_S) / BLINK_RECOVERY_S, 1.0) * urge * GRID_DT
        if acc < need:
            continue
        first = _one_blink(rng, now, quiet[i])
        events.append(first)
        last = now
        if rng.uniform() < BLINK_DOUBLE_P:  # a quick second blink just after the first opens
            t2 = now + first[1] + rng.uniform(0.05, 0.15)
            events.append((t2, max(0.8 * first[1], BLINK_DURATION_RANGE_S[0]), 0.95 * first[2], *first[3:]))
            last = t2
        acc, need = 0.0, rng.gamma(k, 1.0 / k)
    cols = np.array(events, dtype=np.float64).reshape(-1, 5).T
    return BlinkEvents(*cols)


def _one_blink(rng: np.random.Generator, start: float, quiet: bool) -> tuple[float, float, float, float, float]:
    """(start, duration, amplitude, close, hold) of one blink; pauses get more slow blinks."""
    u = rng.uniform(size=5)
    d = BLINK_DURATION_MEDIAN_S * np.exp(BLINK_DURATION_SIGMA * rng.standard_normal())
    if u[0] < BLINK_SLOW_P * (1.0 if quiet else 0.3):
        d *= 1.4 + 0.5 * u[1]
    d = float(np.clip(d, *BLINK_DURATION_RANGE_S))
    close = BLINK_CLOSE_FRACTION[0] + (BLINK_CLOSE_FRACTION[1] - BLINK_CLOSE_FRACTION[0]) * u[2]
    hold = BLINK_HOLD_FRACTION[0] + (BLINK_HOLD_FRACTION[1] - BLINK_HOLD_FRACTION[0]) * u[3]
    return start, d, 0.88 + 0.12 * float(u[4]), close, hold


def blink_curve(events: BlinkEvents, times: np.ndarray) -> np.ndarray:
    """(T,) eyelid closure: fast smooth close, short hold, slower opening."""
    out = np.zeros(len(times))
    frame_dt = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    for s, d, a, c, hold in zip(events.start, events.duration, events.amplitude, events.close, events.hold):
        lo, hi = np.searchsorted(times, [s, s + d])
        x = (times[lo:hi] - s) / d
        h = c + hold
        closing = 0.5 - 0.5 * np.cos(np.pi * np.clip(x / c, 0, 1))
        u = np.clip((x - h) / (1.0 - h), 0, 1)
        opening = (1 - u) ** 2 * (1 + 2 * u)
        y = a * np.where(x < c, closing, np.where(x < h, 1.0, opening))
        out[lo:hi] = np.maximum(out[lo:hi], y)
        # At low fps a short blink may fall between frames: the frame nearest the closure holds it.
        mid = s + d * (c + h) / 2
        k = int(np.clip(np.searchsorted(times, mid), 1, max(len(times) - 1, 1)))
        k = k - 1 if k >= len(times) or abs(times[k - 1] - mid) <= abs(times[k] - mid) else k
        if len(times) and abs(times[k] - mid) <= frame_dt:
            out[k] = max(out[k], 0.95 * a)
    return out


@dataclass(frozen=True)
class GazeEvents:
    start: np.ndarray  # (S,) saccade start times, seconds
    duration: np.ndarray  # (S,)
    target: np.ndarray  # (S, 2) yaw (+ = character's left), pitch (+ = down), eyeLook units
    away: np.ndarray  # (S,) bool: a look-away rather than eye contact


def gaze_events(t_end: float, aversion_at, pitch_bias_at, rng: np.random.Generator) -> GazeEvents:
    """Fixations with small saccades around eye contact, and look-aways (more with aversion).

    ``aversion_at(time)`` and ``pitch_bias_at(time)`` give the style's dynamics at a time."""
    pos = np.array([0.0, -GAZE_PITCH_GAIN * float(pitch_bias_at(0.0))])  # start on contact
    starts, durs, targets, aways = [0.0], [1e-3], [pos], [False]
    now, away = 0.0, False
    while now < t_end:
        fix = float(np.clip(FIXATION_MEDIAN_S * np.exp(0.5 * rng.standard_normal()), *FIXATION_RANGE_S))
        aversion = float(aversion_at(now))
        if away:
            fix *= 0.8 + 0.7 * aversion  # averted glances last longer when the style avoids contact
        now += fix
        draws = rng.uniform(size=4)
        scatter = rng.standard_normal(2)
        p_away = 0.10 + 0.55 * aversion
        go_away = (draws[0] < p_away) if not away else (draws[0] < 0.25 * aversion)
        if go_away:
            side = 1.0 if draws[1] < 0.5 else -1.0
            yaw = side * (AWAY_YAW[0] + (AWAY_YAW[1] - AWAY_YAW[0]) * draws[2])
            pitch = AWAY_PITCH[0] + (AWAY_PITCH[1] - AWAY_PITCH[0]) * draws[3]
            new = np.array([yaw, pitch]) * (0.8 + 0.4 * aversion)
        else:
            new = scatter * np.array(CONTACT_SCATTER)
        new[1] += -GAZE_PITCH_GAIN * float(pitch_bias_at(now))
        amp = float(np.hypot(*(new - pos)))
        starts.append(now)
        durs.append(float(np.clip(0.025 + 0.06 * amp, 0.03, 0.06)))  # main sequence: bigger is slower
        targets.append(new)
        aways.append(go_away)
        pos, away = new, go_away
    return GazeEvents(np.array(starts), np.array(durs), np.array(targets).reshape(-1, 2), np.array(aways, bool))


def gaze_curve(events: GazeEvents, times: np.ndarray) -> np.ndarray:
    """(T, 2) gaze yaw/pitch at ``times``: held fixations joined by minimum-jerk saccades."""
    if len(events.start) == 0:
        return np.zeros((len(times), 2))
    k = np.searchsorted(events.start, times, side="right") - 1  # last saccade started, -1 before any
    kk = np.maximum(k, 0)
    targets = np.vstack([np.zeros((1, 2)), events.target])  # targets[j + 1] is where saccade j lands
    before, after = targets[kk], targets[kk + 1]
    x = np.clip((times - events.start[kk]) / events.duration[kk], 0, 1)
    s = x ** 3 * (10 - 15 * x + 6 * x ** 2)
    out = before + (after - before) * s[:, None]
    out[k < 0] = 0.0
    return out


def eye_layer(blink: np.ndarray, gaze: np.ndarray, wide: np.ndarray) -> np.ndarray:
    """(T, 52) ARKit eye channels from lid closure (T,), gaze yaw/pitch (T, 2) and eyeWide (T,)."""
    out = np.zeros((len(blink), NUM_CHANNELS), np.float32)  # a layer: float32 like the others
    yaw, pitch = np.clip(gaze[:, 0], -1, 1), np.clip(gaze[:, 1], -1, 1)
    left, right, down, up = np.maximum(yaw, 0), np.maximum(-yaw, 0), np.maximum(pitch, 0), np.maximum(-pitch, 0)
    # Conjugate: looking to the character's left is "out" for the left eye and "in" for the right.
    for name, v in (("eyeLookOutLeft", left), ("eyeLookInLeft", right), ("eyeLookInRight", left),
                    ("eyeLookOutRight", right), ("eyeLookDownLeft", down), ("eyeLookDownRight", down),
                    ("eyeLookUpLeft", up), ("eyeLookUpRight", up)):
        out[:, INDEX[name]] = v
    lid = LID_FOLLOW * down
    closure = blink + lid * (1 - blink)
    for side in ("Left", "Right"):
        out[:, INDEX["eyeBlink" + side]] = np.clip(closure, 0, 1)
        out[:, INDEX["eyeSquint" + side]] = 0.12 * blink  # the lower lid rises a little as the eye shuts
        out[:, INDEX["eyeWide" + side]] = np.clip(wide * (1 - blink), 0, 1)
    return out
