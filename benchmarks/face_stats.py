"""Weight statistics for the face benchmark (``benchmarks/face.py``): blinks, left/right
differences, gaze, correlations between takes, velocities, and the same statistics on the real
Live Link Face captures."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES, INDEX, eye_look_to_gaze
from talkclip_model.evaluation import face_mesh as fm

from .lips import Item

FPS = 30.0
PROMPTS = {"none": None, "terrified": "terrified", "furious": "a furious man, brows knitted"}
BLINK_THRESHOLD = 0.5  # a blink: a run of frames where mean(eyeBlinkLeft, eyeBlinkRight) > 0.5
ACTIVE = 0.1  # a channel "moves" above 0.1
PINNED = 0.999
LR_PAIRS = (("mouthSmileLeft", "mouthSmileRight"), ("mouthFrownLeft", "mouthFrownRight"),
            ("mouthStretchLeft", "mouthStretchRight"), ("cheekSquintLeft", "cheekSquintRight"))
VELOCITY_GROUPS = {
    "jawOpen": ("jawOpen",),
    "lips": tuple(n for n in ARKIT_NAMES if n.startswith("mouth")),
    "brows": tuple(n for n in ARKIT_NAMES if n.startswith("brow")),
    "eyeBlink": ("eyeBlinkLeft", "eyeBlinkRight"),
    "gaze": tuple(n for n in ARKIT_NAMES if n.startswith("eyeLook")),
    "squint_wide": ("eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight"),
    "cheek_nose": tuple(n for n in ARKIT_NAMES if n.startswith(("cheek", "nose"))),
}


def _pctl(x, q) -> float:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if x.size else float("nan")


# --- weight statistics ----------------------------------------------------------------------

@dataclass(frozen=True)
class Blinks:
    peaks: np.ndarray  # frame of each blink's peak
    widths: np.ndarray  # seconds above half the peak value


def blinks(arkit: np.ndarray, fps: float, threshold: float = BLINK_THRESHOLD) -> Blinks:
    """Each run of frames where mean(eyeBlinkLeft, eyeBlinkRight) > ``threshold`` is one blink;
    its peak is the run's maximum, its width the time the curve stays above half the peak (full
    width at half maximum, crossings linearly interpolated)."""
    b = 0.5 * (np.asarray(arkit[:, INDEX["eyeBlinkLeft"]], np.float64) + arkit[:, INDEX["eyeBlinkRight"]])
    edges = np.diff(np.concatenate([[0], (b > threshold).astype(np.int8), [0]]))
    peaks, widths = [], []
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        k = s + int(np.argmax(b[s:e]))
        half = 0.5 * b[k]
        i, j = k, k
        while i > 0 and b[i - 1] > half:
            i -= 1
        while j < len(b) - 1 and b[j + 1] > half:
            j += 1
        left = i - (b[i] - half) / (b[i] - b[i - 1]) if i > 0 else float(i)
        right = j + (b[j] - half) / (b[j] - b[j + 1]) if j < len(b) - 1 else float(j)
        peaks.append(k); widths.append((right - left) / fps)
    return Blinks(np.array(peaks, dtype=np.int64), np.array(widths))


def lr_differences(arkit: np.ndarray, pairs=LR_PAIRS) -> np.ndarray:
    """|left - right| over the channel pairs, all frames and pairs pooled."""
    a = np.asarray(arkit, dtype=np.float64)
    return np.concatenate([np.abs(a[:, INDEX[left]] - a[:, INDEX[right]]) for left, right in pairs])


def gaze_yaw(arkit: np.ndarray) -> np.ndarray:
    """(T,) conjugate gaze yaw in eyeLook units (+ = the character's left), mean of both eyes."""
    return eye_look_to_gaze(np.asarray(arkit, dtype=np.float64))[:, :, 0].mean(axis=1)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation over the common prefix (both takes start at frame 0); NaN when flat."""
    n = min(len(a), len(b))
    a, b = np.asarray(a[:n], np.float64), np.asarray(b[:n], np.float64)
    if n < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def resample(values: np.ndarray, times: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(T, C) samples at ``times`` (s) -> a regular grid at ``fps`` by linear interpolation."""
    grid = np.arange(times[0], times[-1] + 1e-9, 1.0 / fps)
    return np.stack([np.interp(grid, times, values[:, c]) for c in range(values.shape[1])], axis=1)


def _velocity(arrays: list[np.ndarray]) -> dict[str, list[float]]:
    out = {}
    for g, names in VELOCITY_GROUPS.items():
        cols = [INDEX[n] for n in names]
        v = np.concatenate([np.abs(np.diff(a[:, cols], axis=0)).reshape(-1) for a in arrays])
        out[g] = [_pctl(v, q) for q in (50, 90, 99)] + [float(v.max()) if v.size else float("nan")]
    return out


def _blink_stats(arrays: list[np.ndarray], fps: float) -> dict:
    found = [blinks(a, fps) for a in arrays]
    widths = np.concatenate([b.widths for b in found])
    gaps = [float(np.diff(np.concatenate([[0], b.peaks, [len(a)]])).max() / fps) for a, b in zip(arrays, found)]
    wide = np.concatenate([0.5 * (a[b.peaks, INDEX["eyeWideLeft"]] + a[b.peaks, INDEX["eyeWideRight"]])
                           for a, b in zip(arrays, found)])
    minutes = sum(len(a) for a in arrays) / fps / 60.0
    med = float(np.median(widths)) if widths.size else float("nan")
    count = int(sum(len(b.peaks) for b in found))
    return {"count": count, "per_minute": count / minutes if minutes else float("nan"),
            "width_s_median": med, "width_s_p10": _pctl(widths, 10), "width_s_p90": _pctl(widths, 90),
            "width_within_10pct_of_median": float(np.mean(np.abs(widths - med) <= 0.1 * med)) if widths.size else float("nan"),
            "longest_gap_s": max(gaps), "first_blink_s": [float(b.peaks[0] / fps) for b in found if len(b.peaks)],
            "eyewide_at_peaks_median": float(np.median(wide)) if wide.size else float("nan")}


def weight_stats(arrays: list[np.ndarray], fps: float = FPS) -> dict:
    """Co-activation, left/right asymmetry, velocities, blinks and saturation over takes at ``fps``."""
    if not arrays:
        return {}
    frames = np.concatenate(arrays)
    active = (frames > ACTIVE).sum(axis=1)
    return {
        "takes": len(arrays), "minutes": len(frames) / fps / 60.0,
        "channels_active": {"median": float(np.median(active)), "p90": _pctl(active, 90), "max": int(active.max())},
        "lr_p90": {"pooled": _pctl(lr_differences(frames), 90),
                   **{a[:-4]: _pctl(lr_differences(frames, [(a, b)]), 90) for a, b in LR_PAIRS}},
        "velocity_p50_p90_p99_max": _velocity(arrays),
        "blinks": _blink_stats(arrays, fps),
        "pinned_share": float((frames >= PINNED).any(axis=1).mean()),
    }


# --- data and takes -------------------------------------------------------------------------


CLASSES = {  # phone classes judged or drawn (ARPAbet)
    "P/B/M": frozenset({"P", "B", "M"}),
    "F/V": frozenset({"F", "V"}),
    "S/T": frozenset({"S", "T"}),
    "AA/AE/AH": frozenset({"AA", "AE", "AH"}),
    "UW/OW/W": frozenset({"UW", "OW", "W"}),
    "IY/EY/IH": frozenset({"IY", "EY", "IH"}),
}


@dataclass
class Take:
    set_name: str
    item: Item
    prompt: str  # key of PROMPTS
    track: object  # ExpressionTrack
    seconds: float
    ict: fm.IctFrames | None = None
    arkit_mesh: fm.ArkitMeshFrames | None = None


@dataclass
class Results:
    takes: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # key of TARGETS -> measured value
    mouth: dict = field(default_factory=dict)
    nonverbal: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)  # weight statistics: ours per prompt, the real captures
    seconds: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
