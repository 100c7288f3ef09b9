"""Head rotation (pitch, yaw, roll in radians) on the internal grid.

Four parts, all scaled by the style's dynamics at each moment:
- a slow wander (mean-reverting filtered noise, so it cannot drift) whose energy follows the
  speech loudness;
- beats: a small dip of the head on each pitch accent, leading it slightly;
- nod and shake bursts (2-3 Hz pitch, 1.6-2.4 Hz yaw oscillation, several degrees) started at
  accents and phrase ends with a probability set by ``nod`` and ``shake``; a calm style
  (low ``head_motion``) still nods visibly when it nods at all;
- a turn of the head along with the eyes' look-aways (eye-head coordination);
- the pose bias (head_pitch/yaw/roll). The pitch bias eases in from level at the start of the
  take (and after a style change) and is held at 40% while speaking: a sad head sinks in the
  pauses rather than hanging at a fixed angle from frame 0.
Everything except the bias is gated by speech activity (the bursts with a longer release), so
the head settles to the bias in long silences. The moving part is softly bounded, the pose clipped to the DYNAMICS ranges, and the
angular speed limited in rad/s on the fixed grid (so the bound holds at any output fps).
"""

from __future__ import annotations

import numpy as np

from talkclip_model.animate.nonverbal.cues import (
    GRID_DT,
    Cues,
    gaussian_smooth,
    one_pole,
)

AXES = ("pitch", "yaw", "roll")
POSE_LIMITS = np.array([0.5, 0.6, 0.4])  # |pose| bound, radians (the DYNAMICS bias ranges)
MOTION_LIMITS = np.array([0.2, 0.3, 0.12])  # |pose - bias| bound, radians
MAX_SPEED = np.array([2.0, 2.5, 1.5])  # rad/s
WANDER_STD = np.array([0.03, 0.045, 0.018])  # radians at head_motion = 1 while speaking
WANDER_TAU_S = 1.2  # mean reversion of the wander
BEAT_AMP = 0.045  # radians of pitch for a full-strength accent
BEAT_SIDE = (0.3, 0.2)  # yaw, roll share of a beat (random sign)
NOD_AMP, NOD_HZ, NOD_CYCLES = 0.12, (1.8, 2.8), (1.5, 3.0)  # 0.12 rad: about 7 degrees at nod = 1
SHAKE_AMP, SHAKE_HZ, SHAKE_CYCLES = 0.12, (1.6, 2.4), (2.0, 3.5)
BURST_P = 0.85  # chance that a candidate moment starts a burst when nod (or shake) is 1
BURST_FLOOR = 0.65  # burst size at head_motion 0: a calm nodder still nods (x sqrt(head_motion) above)
ATTACK_S, RELEASE_S, ANTICIPATE_S = 0.15, 0.6, 0.2  # speech gate: rise, fall, lead before speech
BURST_RELEASE_S = 1.2  # bursts at a phrase end may finish in the pause
PITCH_SPEAKING_SHARE = 0.4  # the pitch bias while speaking; the full bias holds in pauses
PITCH_EASE_S = 0.7  # the pitch bias follows (and starts from level) with this time constant
PITCH_SETTLE_S = (0.5, 1.0)  # the head lifts to speak and sinks back in pauses: rise, fall


def head_track(cues: Cues, dyn: dict[str, np.ndarray], energy_gain: np.ndarray,
               rng_noise: np.random.Generator, rng_beats: np.random.Generator,
               gaze_follow: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (pose (N, 3), motion (N, 3)): the head pose and its moving part (pose minus bias).

    ``gaze_follow`` (N, 2) is the share of look-aways the head turns with (pitch, yaw radians)."""
    t = cues.t
    n = len(t)
    ahead = one_pole(cues.activity, ATTACK_S, ANTICIPATE_S, reverse=True)
    gate = np.maximum(one_pole(cues.activity, ATTACK_S, RELEASE_S), ahead)
    burst_gate = np.maximum(one_pole(cues.activity, ATTACK_S, BURST_RELEASE_S), ahead)
    energy = gaussian_smooth(cues.energy, 0.3)
    drive = dyn["head_motion"] * energy_gain  # audio-driven energy: style x arousal

    motion = np.zeros((n, 3))
    motion += _wander(n, rng_noise) * WANDER_STD * ((0.4 + 0.6 * np.clip(energy, 0, 1)) * drive)[:, None]
    motion += _beats(t, cues, dyn, drive, rng_beats)
    if gaze_follow is not None:
        motion[:, :2] += gaze_follow
    motion *= gate[:, None]
    motion += _bursts(t, cues, dyn, energy_gain, rng_beats) * burst_gate[:, None]
    motion = MOTION_LIMITS * np.tanh(motion / MOTION_LIMITS)

    bias = pose_bias(cues, dyn)
    pose = np.clip(bias + motion, -POSE_LIMITS, POSE_LIMITS)
    pose = np.stack([_limit_speed(pose[:, k], MAX_SPEED[k]) for k in range(3)], axis=1)
    return pose, pose - bias


def pose_bias(cues: Cues, dyn: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 3) the style's pose bias: yaw and roll smoothed over 0.15 s; the pitch eased in from
    level (time constant PITCH_EASE_S) and held at PITCH_SPEAKING_SHARE while speaking."""
    bias = np.stack([gaussian_smooth(dyn["head_" + a], 0.15) for a in AXES], axis=1)
    pitch = one_pole(np.concatenate([[0.0], dyn["head_pitch"]]), PITCH_EASE_S)[1:]
    speaking = one_pole(cues.activity, *PITCH_SETTLE_S)
    bias[:, 0] = pitch * (1.0 - (1.0 - PITCH_SPEAKING_SHARE) * speaking)
    return bias


def _wander(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) unit-variance Ornstein-Uhlenbeck noise, low-passed twice: smooth and mean-reverting."""
    noise = rng.standard_normal((n, 3))
    a = np.exp(-GRID_DT / WANDER_TAU_S)
    b = np.sqrt(1 - a * a)
    x = np.empty((n, 3))
    for k in range(3):  # plain floats: much faster than numpy scalars in a loop
        state, col = (float(noise[0, k]) if n else 0.0), []
        for v in (b * noise[:, k]).tolist():
            state = a * state + v
            col.append(state)
        x[:, k] = col
    for _ in range(2):
        x = np.stack([one_pole(x[:, k], 0.12) for k in range(3)], axis=1)
    return x / 0.85  # the low-pass removes about 15% of the standard deviation


def _beats(t, cues: Cues, dyn, drive, rng) -> np.ndarray:
    out = np.zeros((len(t), 3))
    for a, s in zip(cues.accents, cues.accent_strength):
        side = rng.standard_normal(2)
        i = min(int(round(a / GRID_DT)), len(t) - 1)
        amp = BEAT_AMP * s * drive[i]
        lo, hi = np.searchsorted(t, [a - 0.5, a + 0.8])
        x = t[lo:hi] - (a - 0.05)  # the head leads the voice a little
        dip = np.exp(-0.5 * (x / 0.11) ** 2) - 0.35 * np.exp(-0.5 * ((x - 0.25) / 0.13) ** 2)
        out[lo:hi, 0] += amp * (1.0 + dyn["nod"][i]) * dip  # a nodder dips deeper on accents
        out[lo:hi, 1] += amp * BEAT_SIDE[0] * side[0] * dip
        out[lo:hi, 2] += amp * BEAT_SIDE[1] * side[1] * dip
    return out


def _bursts(t, cues: Cues, dyn, energy_gain, rng) -> np.ndarray:
    """Nod (pitch) and shake (yaw) oscillation bursts at accents and phrase ends.

    Every candidate draws the same random numbers whatever nod/shake are, so changing the style
    changes which bursts happen, not the rest of the take."""
    out = np.zeros((len(t), 3))
    strong = cues.accents[cues.accent_strength > 0.2]
    candidates = np.sort(np.concatenate([strong, cues.pauses]))
    hm = (BURST_FLOOR + (1.0 - BURST_FLOOR) * np.sqrt(dyn["head_motion"])) * energy_gain
    busy_until = {0: -1e9, 1: -1e9}
    for c in candidates:
        draws = rng.uniform(size=(2, 4))
        i = min(int(round(c / GRID_DT)), len(t) - 1)
        for axis, key, amp0, hz, cycles, u in ((0, "nod", NOD_AMP, NOD_HZ, NOD_CYCLES, draws[0]),
                                              (1, "shake", SHAKE_AMP, SHAKE_HZ, SHAKE_CYCLES, draws[1])):
            if c < busy_until[axis] or u[0] >= BURST_P * dyn[key][i]:
                continue
            f = hz[0] + (hz[1] - hz[0]) * u[1]
            length = (cycles[0] + (cycles[1] - cycles[0]) * u[2]) / f
            t0 = c - 0.1
            lo, hi = np.searchsorted(t, [t0, t0 + length])
            x = t[lo:hi] - t0
            window = 0.5 - 0.5 * np.cos(2 * np.pi * x / length)
            amp = amp0 * (0.8 + 0.4 * u[3]) * np.sqrt(dyn[key][lo:hi]) * hm[lo:hi]
            sign = 1.0 if (axis == 0 or u[3] < 0.5) else -1.0  # a nod starts downwards
            out[lo:hi, axis] += sign * amp * window * np.sin(2 * np.pi * f * x)
            busy_until[axis] = t0 + length
    return out


def _limit_speed(x: np.ndarray, vmax: float) -> np.ndarray:
    """Bound |dx/dt| by vmax: average of a forward and a backward slew limiter (zero-phase)."""
    if len(x) < 2:
        return x.copy()
    step = vmax * GRID_DT
    if np.all(np.abs(np.diff(x)) <= step):
        return x.copy()

    def run(v):
        y, out = float(v[0]), []
        for target in v.tolist():
            y += min(max(target - y, -step), step)
            out.append(y)
        return np.array(out)

    return 0.5 * (run(x) + run(x[::-1])[::-1])
