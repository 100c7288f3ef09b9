"""The face judged on a mesh (issue 15): ``python -m benchmarks.face [--quick] [--json OUT] [--sheet OUT.png]``

Generates takes with transcripts at the default seed (the five LibriVox utterances, the three MFA
monologues, the six synthetic mbrola lines and six more synthesised on the fly: 20 recordings;
``--quick``: five of them), each with no prompt, "terrified" and "a furious man, brows knitted",
poses the ICT FaceKit head and SAiD's ARKit reference mesh with every frame's weights
(``talkclip_model.evaluation.face_mesh``) and reports each figure next to its target from the
issue's "How it is judged":

- P/B/M (reference phones >= 50 ms): lips sealed (midline gap <= the neutral slit + 0.2 mm) on
  at least 2 of the phone's frames (its interval widened by one frame each side);
- F/V: on some frame the lower lip's top reaches the upper incisor edge (at most 1 mm below it)
  while at least 1.5 mm of upper incisor shows between the lips;
- median correlation of head yaw and of gaze yaw between no-prompt takes of different recordings;
- blinks per minute (a run of mean eyeBlink > 0.5), blink widths; eyeWide and the eyelid gap on
  the mesh at blink peaks under "terrified";
- share of frames with any channel >= 0.999 under "a furious man, brows knitted";
- without a prompt: median channels > 0.1 per frame, p90 |L-R| over smile/frown/stretch/cheekSquint;

beside the weight-space lip scores (``evaluation.lips.score_lips``) and the same weight
statistics on the real Live Link Face captures (``../shared/data/livelink_face_*``). ``--sheet``
draws the mouth at reference phones (and the eye at blink peaks) on the ICT head with a small
numpy z-buffer renderer (``FrontRenderer``). ``run()`` returns a ``Section`` like the other
areas. See docs/face.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES, INDEX, eye_look_to_gaze
from talkclip_model.evaluation import face_mesh as fm

from . import Section, pct, shared_data, verdict
from .lips import EXTRA_SENTENCES, Item, librivox_items, mfa_items, synthesize_items, synthetic_items

FPS = 30.0
PROMPTS = {"none": None, "terrified": "terrified", "furious": "a furious man, brows knitted"}
QUICK = {"LibriVox": ("0870", "0920"), "MFA": ("acoustic_corpus",), "synthetic": ("line1_us1", "line2_us2")}
MFA_MONOLOGUES = ("acoustic_corpus", "cold_corpus", "cold_corpus3")
N_EXTRA_SENTENCES = 3  # x 2 mbrola voices: 5 LibriVox + 3 MFA + 6 synthetic + 6 = 20 recordings

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

# issue 15, "How it is judged": (comparison, target, the figure for the code it reviewed)
TARGETS = {
    "bilabial_sealed": (">=", 0.90, 0.39),
    "fv_on_teeth": (">=", 0.80, 0.25),
    "head_yaw_corr": ("<=", 0.5, None),  # the review (animation_quality.md 3.3): 0.85-0.99
    "gaze_yaw_corr": ("<=", 0.5, 0.98),
    "blinks_per_min": ("in", (12.0, 30.0), 12.7),
    "terrified_eyewide_at_blinks": ("<=", 0.15, 0.72),
    "furious_pinned_share": ("<=", 0.10, 0.49),
    "channels_active_median": (">=", 7, 4),
    "lr_p90": (">=", 0.02, 0.0),
}
LABELS = {
    "bilabial_sealed": "P/B/M sealed on >= 2 frames (ICT midline gap <= neutral + 0.2 mm)",
    "fv_on_teeth": "F/V: lower lip at the upper incisor edge, upper teeth showing",
    "head_yaw_corr": "head yaw: median correlation between recordings",
    "gaze_yaw_corr": "gaze yaw: median correlation between recordings",
    "blinks_per_min": "blinks per minute (no prompt)",
    "terrified_eyewide_at_blinks": "eyeWide at blink peaks, \"terrified\" (median)",
    "furious_pinned_share": "frames with a channel >= 0.999, \"a furious man, brows knitted\"",
    "channels_active_median": "channels > 0.1 per frame, median (no prompt)",
    "lr_p90": "p90 \\|L-R\\| smile/frown/stretch/cheekSquint (no prompt)",
}
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

def datasets(quick: bool, tmp: Path) -> dict[str, list[Item]]:
    sets = {"LibriVox": librivox_items(), "MFA": mfa_items(MFA_MONOLOGUES), "synthetic": synthetic_items()}
    if quick:
        sets = {k: [it for it in v if it.name in QUICK[k]] for k, v in sets.items()}
    else:
        sets["synthetic"] += synthesize_items(tmp, sentences=EXTRA_SENTENCES[:N_EXTRA_SENTENCES])
    return {k: v for k, v in sets.items() if v}


def generate(sets: dict[str, list[Item]], prompts=PROMPTS, progress=print) -> list[Take]:
    from talkclip_model.pipeline import GenerateOptions, Pipeline

    pipeline = Pipeline()
    takes = []
    for set_name, items in sets.items():
        for item in items:
            for key, prompt in prompts.items():
                progress(f"face: {set_name}: {item.name}: {key}")
                t0 = time.perf_counter()
                track = pipeline.generate(item.audio, GenerateOptions(fps=FPS, transcript=item.transcript, prompt=prompt))
                takes.append(Take(set_name, item, key, track, time.perf_counter() - t0))
    return takes


def real_captures(data: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """The Live Link Face captures resampled to 30 fps on their own timecodes."""
    from exporters.formats import read_track
    from exporters.livelink import parse_timecode

    out: dict[str, list] = {"ROM": [], "idle": []}
    for group, folder in (("ROM", "livelink_face_alexdjulin"), ("idle", "livelink_face_neurosync")):
        for path in sorted((data / folder).glob("*.csv.gz")):
            track = read_track(path)
            times = np.arange(track.num_frames) / track.fps
            try:
                base = int(track.meta["timecode_base"])
                t = np.array([parse_timecode(c, base) for c in track.meta["livelink"]["timecodes"]], dtype=np.float64)
                times = t if len(t) == track.num_frames and np.all(np.diff(t) > 0) else times
            except (KeyError, TypeError, ValueError):
                pass
            out[group].append((path.name.split(".")[0], resample(np.asarray(track.arkit, np.float64), times)))
    return out


# --- measuring ------------------------------------------------------------------------------

def _judge_take(tk: Take, s: dict, widths: dict, neutral_gap: float, said_neutral: float) -> None:
    from talkclip_model.evaluation.lips import score_lips

    n, ref, m = tk.track.num_frames, tk.item.reference, tk.ict
    win = fm.phone_windows(ref, FPS, n, CLASSES["P/B/M"])
    closed = fm.sealed(m.lip_gap, neutral_gap)
    for w, r in zip(win, fm.judge_bilabials(m.lip_gap, win, neutral_gap)):
        last = w.lo + int(np.flatnonzero(closed[w.lo:w.hi + 1])[-1]) if r["sealed_frames"] else -1
        # the release: how far the lips part in the frame after the phone's last sealed frame
        release = float(m.lip_gap[last + 1] - m.lip_gap[last]) if 0 <= last < n - 1 else None
        s["bilabials"].append({"take": tk.item.name, **r, "release_cm": release})
        s["said_excess_mm"].append(10 * (float(tk.arkit_mesh.lip_gap[w.mid]) - said_neutral))
    s["labiodentals"] += [{"take": tk.item.name, **r} for r in fm.judge_labiodentals(m, fm.phone_windows(ref, FPS, n, CLASSES["F/V"]))]
    fv = fm.fv_frames(m)
    s["s_t"] += [{"lip_to_edge_mid_cm": float(m.lower_lip_to_incisor[w.mid]), "reads_fv": bool(fv[w.mid])}
                 for w in fm.phone_windows(ref, FPS, n, CLASSES["S/T"])]
    for cls in ("IY/EY/IH", "UW/OW/W", "AA/AE/AH"):
        for w in fm.phone_windows(ref, FPS, n, CLASSES[cls]):
            widths[cls]["ict"].append(float(m.mouth_width[w.mid]))
            widths[cls]["arkit"].append(float(tk.arkit_mesh.mouth_width[w.mid]))
            widths[cls]["gap"].append(float(m.lip_gap[w.mid]))
    scores = score_lips(tk.track, ref)
    for cls in ("bilabial", "labiodental"):
        s["weights"][cls][0] += scores[cls].correct
        s["weights"][cls][1] += scores[cls].checked


def judge_mouth(takes: list[Take], ict: fm.IctMeasurer, said: fm.ArkitMeshMeasurer) -> dict:
    """P/B/M and F/V per data set on the no-prompt takes, mouth widths per vowel class and the
    weight-space scores of the same takes."""
    neutral_gap, said_neutral = float(ict.neutral.lip_gap[0]), float(said.neutral.lip_gap[0])
    per_set: dict[str, dict] = {}
    widths: dict = {c: {"ict": [], "arkit": [], "gap": []} for c in ("IY/EY/IH", "UW/OW/W", "AA/AE/AH")}
    for tk in (t for t in takes if t.prompt == "none"):
        s = per_set.setdefault(tk.set_name, {"bilabials": [], "labiodentals": [], "s_t": [], "said_excess_mm": [],
                                             "weights": {"bilabial": [0, 0], "labiodental": [0, 0]}})
        _judge_take(tk, s, widths, neutral_gap, said_neutral)
    widths["neutral"] = {"ict": [float(ict.neutral.mouth_width[0])], "arkit": [float(said.neutral.mouth_width[0])],
                         "gap": [neutral_gap]}
    return {"per_set": per_set, "widths": widths, "neutral_gap_cm": neutral_gap, "said_neutral_gap_cm": said_neutral,
            "neutral_lower_lip_to_incisor_cm": float(ict.neutral.lower_lip_to_incisor[0]),
            "neutral_eyelid_gap_cm": ict.neutral.eyelid_gap[0].tolist()}


def judge_nonverbal(takes: list[Take]) -> dict:
    """Sameness between recordings, the eyelids at blink peaks per prompt, pinned channels."""
    none = [t for t in takes if t.prompt == "none"]
    pairs = [(a, b) for i, a in enumerate(none) for b in none[i + 1:] if a.item.audio != b.item.audio]
    head = [correlation(a.track.head[:, 1], b.track.head[:, 1]) for a, b in pairs]
    gaze = [correlation(gaze_yaw(a.track.arkit), gaze_yaw(b.track.arkit)) for a, b in pairs]
    out: dict = {"head_yaw_corr": {"median": _pctl(head, 50), "p10": _pctl(head, 10), "pairs": len(pairs)},
                 "gaze_yaw_corr": {"median": _pctl(gaze, 50), "p10": _pctl(gaze, 10), "pairs": len(pairs)}}
    for key in PROMPTS:
        gaps, wide = [np.zeros(0)], [np.zeros(0)]
        for t in (t for t in takes if t.prompt == key):
            p, a = blinks(t.track.arkit, FPS).peaks, t.track.arkit
            gaps.append(t.ict.eyelid_gap[p].max(axis=1))
            wide.append(0.5 * (a[p, INDEX["eyeWideLeft"]] + a[p, INDEX["eyeWideRight"]]))
        g, w = np.concatenate(gaps), np.concatenate(wide)
        out[f"blink_peaks_{key}"] = {"n": int(g.size), "eyelid_gap_mm_median": 10 * _pctl(g, 50),
                                     "eyelid_gap_mm_p90": 10 * _pctl(g, 90), "eyewide_median": _pctl(w, 50),
                                     "closed_share": float(np.mean(g <= fm.EYE_CLOSED_CM)) if g.size else float("nan")}
    furious = [t.track.arkit for t in takes if t.prompt == "furious"]
    if furious:
        pinned = np.concatenate(furious) >= PINNED
        out["furious_pinned"] = {"share": float(pinned.any(axis=1).mean()),
                                 "by_channel": {ARKIT_NAMES[c]: float(pinned[:, c].mean()) for c in np.flatnonzero(pinned.any(axis=0))}}
    return out


def headline(res: Results) -> dict:
    bil = [r for s in res.mouth["per_set"].values() for r in s["bilabials"]]
    fv = [r for s in res.mouth["per_set"].values() for r in s["labiodentals"]]
    none = res.stats.get("ours_none", {})
    return {
        "bilabial_sealed": float(np.mean([r["lands"] for r in bil])) if bil else float("nan"),
        "fv_on_teeth": float(np.mean([r["lands"] for r in fv])) if fv else float("nan"),
        "head_yaw_corr": res.nonverbal["head_yaw_corr"]["median"],
        "gaze_yaw_corr": res.nonverbal["gaze_yaw_corr"]["median"],
        "blinks_per_min": none.get("blinks", {}).get("per_minute", float("nan")),
        "terrified_eyewide_at_blinks": res.nonverbal["blink_peaks_terrified"]["eyewide_median"],
        "furious_pinned_share": res.nonverbal.get("furious_pinned", {}).get("share", float("nan")),
        "channels_active_median": none.get("channels_active", {}).get("median", float("nan")),
        "lr_p90": none.get("lr_p90", {}).get("pooled", float("nan")),
    }


def evaluate(quick: bool = False, progress=print) -> Results:
    res = Results()
    data = shared_data()
    if data is None:
        res.notes.append("../shared/data not found (set TALKCLIP_SHARED_DATA): nothing to pose or compare with.")
        return res
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="talkclip-face-") as tmp:
        res.takes = generate(datasets(quick, Path(tmp)), progress=progress)
    res.seconds["generate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    progress("face: posing the ICT head and the ARKit reference mesh")
    ict = fm.IctMeasurer(fm.load_ict(data / "ict_facekit"))
    said = fm.ArkitMeshMeasurer(fm.load_said(data / "said_arkit_reference" / "ARKit_reference_blendshapes.zip"))
    for tk in res.takes:
        tk.ict, tk.arkit_mesh = ict.measure(tk.track.arkit), said.measure(tk.track.arkit)
    res.mouth = judge_mouth(res.takes, ict, said)
    res.nonverbal = judge_nonverbal(res.takes)
    res.seconds["measure"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    progress("face: weight statistics of ours and of the Live Link Face captures")
    for key in PROMPTS:
        res.stats[f"ours_{key}"] = weight_stats([np.asarray(t.track.arkit, np.float64) for t in res.takes if t.prompt == key])
    for group, items in real_captures(data).items():
        res.stats[f"real_{group}"] = {**weight_stats([a for _, a in items]), "files": [n for n, _ in items]}
    res.seconds["statistics"] = time.perf_counter() - t0
    res.figures = headline(res)
    return res


# --- reporting ------------------------------------------------------------------------------

def passes(key: str, value: float) -> bool:
    op, target, _ = TARGETS[key]
    if value != value:
        return False
    if op == "in":
        return target[0] <= value <= target[1]
    return value >= target if op == ">=" else value <= target


def _fmt(key: str, v) -> str:
    if v is None or v != v:
        return "n/a"
    if key in ("bilabial_sealed", "fv_on_teeth", "furious_pinned_share"):
        return pct(v)
    if key == "blinks_per_min":
        return f"{v:.1f}/min"
    if key == "channels_active_median":
        return f"{v:g}"
    return f"{v:.3f}" if key == "lr_p90" else f"{v:.2f}"


def _target_text(key: str) -> str:
    op, t, _ = TARGETS[key]
    return f"{t[0]:g}-{t[1]:g}/min" if op == "in" else f"{op} {_fmt(key, t)}"


def table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def _mm(cm) -> str:
    return "n/a" if cm is None or cm != cm else f"{10 * cm:+.1f}"


def _share(rows: list[dict], key: str) -> str:
    return pct(float(np.mean([r[key] for r in rows]))) if rows else "n/a"


def _median_mm(values) -> str:
    return _mm(float(np.median(values))) if len(values) else "n/a"


def _release(rows: list[dict]) -> str:
    r = [10 * x["release_cm"] for x in rows if x["release_cm"] is not None]
    return f"{np.median(r):.1f} / {_pctl(r, 90):.1f}" if r else "n/a"


def _rate(pair) -> str:
    return f"{pct(pair[0] / pair[1]) if pair[1] else 'n/a'} ({pair[0]}/{pair[1]})"


def mouth_table(res: Results) -> str:
    per = dict(res.mouth.get("per_set", {}))
    if per:
        per["all"] = {k: [r for v in per.values() for r in v[k]] for k in ("bilabials", "labiodentals", "s_t", "said_excess_mm")}
        per["all"]["weights"] = {c: [sum(v["weights"][c][i] for k, v in per.items() if k != "all") for i in (0, 1)]
                                 for c in ("bilabial", "labiodental")}
    rows = [[name, len(s["bilabials"]), _share(s["bilabials"], "lands"), _share(s["bilabials"], "sealed_mid"),
             _median_mm([r["gap_mid_cm"] for r in s["bilabials"]]),
             f"{np.median(s['said_excess_mm']):+.1f}" if s["said_excess_mm"] else "n/a", _release(s["bilabials"]),
             _rate(s["weights"]["bilabial"]),
             len(s["labiodentals"]), _share(s["labiodentals"], "lands"), _share(s["labiodentals"], "reaches"),
             _median_mm([r["lip_to_edge_mid_cm"] for r in s["labiodentals"]]),
             _median_mm([r["lip_to_edge_mid_cm"] for r in s["s_t"]]), _share(s["s_t"], "reads_fv"),
             _rate(s["weights"]["labiodental"])] for name, s in per.items()]
    return table(["data set", "P/B/M", "sealed >= 2 frames", "sealed at mid", "ICT gap at mid, mm (median)",
                  "ARKit mesh gap over neutral at mid, mm", "release: opening in one frame, mm (median / p90)",
                  "weight proxy: bilabial", "F/V", "F/V lands",
                  "lower lip reaches the edge", "lip top - incisor edge at mid, mm", "S/T: the same, mm",
                  "S/T reading as F/V at mid", "weight proxy: labiodental"], rows)


def width_table(res: Results) -> str:
    w = res.mouth.get("widths", {})
    rows = [[cls, len(v["ict"]) if cls != "neutral" else "-", *[f"{10 * np.median(v[k]):.1f}" if v[k] else "n/a"
                                                              for k in ("ict", "arkit", "gap")]] for cls, v in w.items()]
    return table(["mouth at mid-phone (no prompt)", "phones", "ICT width corner to corner, mm (median)",
                  "ARKit mesh width 244-678, mm (median)", "ICT midline gap, mm (median)"], rows)


def eyes_table(res: Results) -> str:
    rows = [[key, d["n"], f"{d['eyewide_median']:.2f}", f"{d['eyelid_gap_mm_median']:.1f}", f"{d['eyelid_gap_mm_p90']:.1f}",
             pct(d["closed_share"])] for key in PROMPTS if (d := res.nonverbal.get(f"blink_peaks_{key}"))]
    return table(["prompt", "blink peaks", "eyeWide (median)", "ICT eyelid gap, wider eye, mm (median)", "p90",
                  "closed (<= 1 mm)"], rows)


def _cell(get, s) -> str:
    try:
        return get(s)
    except (KeyError, IndexError, TypeError, ValueError):
        return "n/a"


def _v(x: float) -> str:
    return f"{x:.3f}".lstrip("0") if x < 1 else f"{x:.2f}"


STAT_ROWS = [
    ("takes / minutes", lambda s: f"{s['takes']} / {s['minutes']:.1f}"),
    ("channels > 0.1 at once: median / p90 / max",
     lambda s: f"{s['channels_active']['median']:g} / {s['channels_active']['p90']:g} / {s['channels_active']['max']}"),
    ("p90 \\|L-R\\| pooled", lambda s: f"{s['lr_p90']['pooled']:.3f}"),
    ("p90 \\|L-R\\| smile / frown / stretch / cheekSquint",
     lambda s: " / ".join(f"{s['lr_p90'][k]:.2f}" for k in ("mouthSmile", "mouthFrown", "mouthStretch", "cheekSquint"))),
    *[(f"velocity {g}: p50 / p90 / p99 / max", lambda s, g=g: " / ".join(_v(x) for x in s["velocity_p50_p90_p99_max"][g]))
      for g in VELOCITY_GROUPS],
    ("blinks per minute (count)", lambda s: f"{s['blinks']['per_minute']:.1f} ({s['blinks']['count']})"),
    ("blink width (FWHM) s: median (p10-p90)",
     lambda s: f"{s['blinks']['width_s_median']:.3f} ({s['blinks']['width_s_p10']:.3f}-{s['blinks']['width_s_p90']:.3f})"),
    ("blink widths within 10% of the median", lambda s: pct(s["blinks"]["width_within_10pct_of_median"])),
    ("longest stretch without a blink, s", lambda s: f"{s['blinks']['longest_gap_s']:.1f}"),
    ("first blink at, s (min-max over takes)",
     lambda s: f"{min(s['blinks']['first_blink_s']):.2f}-{max(s['blinks']['first_blink_s']):.2f}"),
    ("eyeWide at blink peaks (median)", lambda s: f"{s['blinks']['eyewide_at_peaks_median']:.2f}"),
    ("frames with a channel >= 0.999", lambda s: pct(s["pinned_share"])),
]


def stats_table(res: Results) -> str:
    names = {"ours_none": "ours, no prompt", "ours_terrified": "ours, terrified", "ours_furious": "ours, furious",
             "real_ROM": "real ROM (alexdjulin)", "real_idle": "real idle (neurosync)"}
    cols = [k for k in names if res.stats.get(k)]
    rows = [[label, *[_cell(get, res.stats[c]) for c in cols]] for label, get in STAT_ROWS]
    return table(["weight statistic (30 fps)", *[names[c] for c in cols]], rows)


class FaceSection(Section):
    """A Section with its detail tables after the headline table."""

    extra: list[str] = []

    def markdown(self) -> str:
        return super().markdown() + "\n" + "\n\n".join(self.extra) + "\n"


def section(res: Results, quick: bool) -> FaceSection:
    sec = FaceSection("The face judged on a mesh (issue 15)")
    sec.header = ["measure", "measured", "target", "", "issue 15 (reviewed code)"]
    for key in TARGETS:
        v = res.figures.get(key, float("nan"))
        review = TARGETS[key][2]
        sec.rows.append([LABELS[key], _fmt(key, v), _target_text(key), verdict(passes(key, v)),
                         "0.85-0.99 (review)" if review is None else _fmt(key, review)])
    sets = {t.set_name: {u.item.name for u in res.takes if u.set_name == t.set_name} for t in res.takes}
    m = res.mouth
    sec.notes += [
        f"{'Quick' if quick else 'Full'} set: {sum(len(v) for v in sets.values())} recordings with transcripts ("
        + ", ".join(f"{k} {len(v)}" for k, v in sets.items()) + "), each with no prompt, \"terrified\" and "
        f"\"a furious man, brows knitted\"; default seed, {FPS:g} fps. Mouth figures: the no-prompt takes.",
        f"ICT neutral: midline slit {10 * m.get('neutral_gap_cm', np.nan):.2f} mm (sealed: <= "
        f"{10 * (m.get('neutral_gap_cm', np.nan) + fm.SEAL_TOLERANCE_CM):.2f} mm), lower-lip top "
        f"{_mm(m.get('neutral_lower_lip_to_incisor_cm'))} mm over the upper incisor edge, eyelid gap "
        f"{10 * m.get('neutral_eyelid_gap_cm', [np.nan])[0]:.1f} mm; ARKit mesh inner-lip gap "
        f"{10 * m.get('said_neutral_gap_cm', np.nan):.1f} mm.",
        "Judged phones: reference phones of >= 50 ms; a phone's frames are those within its interval widened by one "
        "frame (33 ms) each side. The weight-proxy columns are evaluation.lips.score_lips on the same takes (phones "
        ">= 30 ms); it counts press and roll as closure and tolerates 0.08 of residual aperture.",
        "References: LibriVox = PocketSphinx alignments, MFA = the corpus TextGrids (aligner output), synthetic = "
        "the mbrola .pho timings (exact). The real captures are not speech (range of motion, emotional idles).",
        *res.notes,
        "Seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in res.seconds.items()),
    ]
    sec.extra = ["### Mouth on the mesh per data set (no prompt)", mouth_table(res), width_table(res),
                 "### Eyes at blink peaks (ICT)", eyes_table(res),
                 "### Weight statistics against the real Live Link Face captures", stats_table(res)]
    sec.data = {"figures": res.figures, "targets": {k: {"op": op, "target": t, "issue_15": r} for k, (op, t, r) in TARGETS.items()},
                "mouth": res.mouth, "nonverbal": res.nonverbal, "stats": res.stats, "seconds": res.seconds,
                "takes": [{"set": t.set_name, "name": t.item.name, "prompt": t.prompt, "frames": t.track.num_frames,
                           "seed": t.track.meta.get("seed"), "seconds": round(t.seconds, 3)} for t in res.takes]}
    return sec


# --- rendering (front view, orthographic) ---------------------------------------------------

MOUTH_CROP = (-3.4, 3.4, -6.2, -1.4)  # x0, x1, y0, y1 in ICT cm
EYE_CROP = (1.4, 5.0, 2.2, 5.0)  # the character's left eye (+x)
COLOURS = {"face": (222, 178, 152), "head_neck": (222, 178, 152), "mouth_socket": (110, 40, 45),
           "gums_tongue": (190, 90, 95), "teeth": (245, 242, 230), "eyeball_left": (240, 238, 232),
           "eyeball_right": (240, 238, 232)}
IRIS, PUPIL = (95, 70, 50), (20, 15, 12)
LIGHT = np.array([0.25, 0.35, 1.0]) / np.linalg.norm([0.25, 0.35, 1.0])


class FrontRenderer:
    """A tiny z-buffer renderer of the posed ICT head: front orthographic view, cropped to
    ``crop`` (cm) at ``px_per_cm``. Only the polygons near the crop are posed and drawn (face,
    mouth socket, gums and tongue, teeth, eyeballs with a painted iris); every pixel centre inside
    a triangle turned to the camera is a sample (triangles batched by bounding-box size), the
    nearest (largest z) wins; Lambert shading. Head rotation is not applied."""

    def __init__(self, mesh: fm.ShapeMesh, crop=MOUTH_CROP, px_per_cm: float = 40.0):
        self.mesh, self.crop, self.scale = mesh, crop, px_per_cm
        V = mesh.neutral
        x0, x1, y0, y1 = crop
        names = list(COLOURS)
        part = np.full(len(V), -1)
        for k, name in enumerate(names):
            part[slice(*fm.ICT_PARTS[name])] = k
        poles = [V[lo:hi][np.argmax(V[lo:hi, 2])] for lo, hi in fm.ICT_EYEBALLS]
        tris, colour = [], []
        for poly in mesh.polygons:
            p = part[poly[0]]
            c = V[poly]
            if p < 0 or (part[poly] != p).any() or c[:, 0].max() < x0 - 1 or c[:, 0].min() > x1 + 1 \
                    or c[:, 1].max() < y0 - 2.5 or c[:, 1].min() > y1 + 1:
                continue
            rgb = COLOURS[names[p]]
            if names[p].startswith("eyeball"):
                r = np.linalg.norm(c.mean(axis=0)[:2] - poles[names[p] == "eyeball_right"][:2])
                rgb = PUPIL if r < 0.22 else IRIS if r < 0.55 else rgb
            tris += [(poly[0], poly[k], poly[k + 1]) for k in range(1, len(poly) - 1)]
            colour += [rgb] * (len(poly) - 2)
        self.vertices, inverse = np.unique(np.array(tris, dtype=np.int64), return_inverse=True)
        self.tris = inverse.reshape(-1, 3)
        self.colour = np.array(colour, dtype=np.float64) / 255.0
        self._basis = mesh.basis(self.vertices)
        self.width, self.height = int(round((x1 - x0) * px_per_cm)), int(round((y1 - y0) * px_per_cm))

    def pixel_y(self, y_cm: float) -> float:
        """Image row of height ``y_cm``."""
        return (self.crop[3] - y_cm) * self.scale

    def _samples(self, tx, ty, tz, rgb):
        """Pixel index, depth and colour of every pixel centre inside each triangle."""
        bx0 = np.maximum(np.ceil(tx.min(axis=1) - 0.5), 0).astype(np.int64)
        bx1 = np.minimum(np.floor(tx.max(axis=1) - 0.5), self.width - 1).astype(np.int64)
        by0 = np.maximum(np.ceil(ty.min(axis=1) - 0.5), 0).astype(np.int64)
        by1 = np.minimum(np.floor(ty.max(axis=1) - 0.5), self.height - 1).astype(np.int64)
        bw, bh = bx1 - bx0 + 1, by1 - by0 + 1
        live = (bw > 0) & (bh > 0)
        sw = 2 ** np.ceil(np.log2(np.maximum(bw, 1))).astype(np.int64)
        sh = 2 ** np.ceil(np.log2(np.maximum(bh, 1))).astype(np.int64)
        for gw, gh in sorted(set(zip(sw[live].tolist(), sh[live].tolist()))):
            sel = np.flatnonzero(live & (sw == gw) & (sh == gh))
            oy, ox = np.divmod(np.arange(gw * gh), gw)
            cx, cy = bx0[sel, None] + ox[None], by0[sel, None] + oy[None]
            x, y = tx[sel], ty[sel]
            e = [(x[:, b, None] - cx - 0.5) * (y[:, c, None] - cy - 0.5) - (x[:, c, None] - cx - 0.5) * (y[:, b, None] - cy - 0.5)
                 for b, c in ((1, 2), (2, 0), (0, 1))]
            area = e[0] + e[1] + e[2]
            inside = (((e[0] >= 0) & (e[1] >= 0) & (e[2] >= 0)) | ((e[0] <= 0) & (e[1] <= 0) & (e[2] <= 0)))
            r, k = np.nonzero(inside & (cx <= bx1[sel, None]) & (cy <= by1[sel, None]) & (np.abs(area) > 1e-12))
            z = tz[sel][r]
            yield cy[r, k] * self.width + cx[r, k], (e[0][r, k] * z[:, 0] + e[1][r, k] * z[:, 1] + e[2][r, k] * z[:, 2]) / area[r, k], rgb[sel[r]]

    def render(self, weights) -> np.ndarray:
        """(H, W, 3) uint8 image of one frame's (52,) weights."""
        P = self.mesh.pose(np.asarray(weights, dtype=np.float64), self.vertices, self._basis)
        px, py = (P[:, 0] - self.crop[0]) * self.scale, (self.crop[3] - P[:, 1]) * self.scale
        T = self.tris
        n = np.cross(P[T[:, 1]] - P[T[:, 0]], P[T[:, 2]] - P[T[:, 0]])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        rgb = self.colour * (0.25 + 0.75 * np.abs(n @ LIGHT))[:, None]
        tx, ty = px[T], py[T]
        # the polygons face outwards: a triangle turned away from the camera is hidden
        live = (n[:, 2] > 0) & (tx.max(axis=1) >= 0) & (tx.min(axis=1) < self.width) & (ty.max(axis=1) >= 0) \
            & (ty.min(axis=1) < self.height)
        parts = list(self._samples(tx[live], ty[live], P[:, 2][T][live], rgb[live]))
        img = np.full((self.height * self.width, 3), 0.12)
        if parts:
            flat, depth, cols = (np.concatenate(x) for x in zip(*parts))
            order = np.lexsort((-depth, flat))
            flat, cols = flat[order], cols[order]
            first = np.concatenate([[True], flat[1:] != flat[:-1]])
            img[flat[first]] = cols[first]
        return (np.clip(img, 0, 1) * 255).astype(np.uint8).reshape(self.height, self.width, 3)


# --- the contact sheet ----------------------------------------------------------------------

TICKS = {"upper_lip_y": (230, 200, 0), "lower_lip_y": (0, 190, 220), "incisor_y": (0, 170, 0)}
GOOD, BAD, PLAIN = (0, 120, 0), (200, 0, 0), (0, 0, 0)


def _pick(candidates: list, k: int) -> list:
    """``k`` candidates spread evenly over the list."""
    if len(candidates) <= k:
        return candidates
    return [candidates[int(i)] for i in np.linspace(0, len(candidates) - 1, k).round()]


def _tile(img: np.ndarray, lines: list[str], colour=PLAIN, ticks=()):
    from PIL import Image, ImageDraw

    h, w = img.shape[:2]
    out = Image.new("RGB", (w, h + 12 * len(lines) + 3), (255, 255, 255))
    out.paste(Image.fromarray(img), (0, 0))
    d = ImageDraw.Draw(out)
    for y, c in ticks:
        d.line([(0, y), (9, y)], fill=c, width=2)
        d.line([(w - 10, y), (w, y)], fill=c, width=2)
    for i, text in enumerate(lines):
        d.text((3, h + 1 + 12 * i), text, fill=colour)
    return out


def _mouth_tile(r: FrontRenderer, tk: Take, f: int, lines: list[str], good: bool | None = None):
    ticks = [(r.pixel_y(float(getattr(tk.ict, k)[f])), c) for k, c in TICKS.items()]
    return _tile(r.render(tk.track.arkit[f]), lines, PLAIN if good is None else GOOD if good else BAD, ticks)


def _phone_tile(r: FrontRenderer, cls: str, tk: Take, w: fm.PhoneWindow, neutral_gap: float):
    m, f = tk.ict, w.mid
    head = f"{tk.item.name[:14]} {w.phone} {w.start:.2f}s f{f}"
    if cls == "P/B/M":
        j = fm.judge_bilabials(m.lip_gap, [w], neutral_gap)[0]
        return _mouth_tile(r, tk, f, [head, f"gap {10 * m.lip_gap[f]:.1f} mm, sealed {j['sealed_frames']} fr"], j["lands"])
    if cls == "F/V":
        j = fm.judge_labiodentals(m, [w])[0]
        text = f"lip-edge {10 * m.lower_lip_to_incisor[f]:+.1f} teeth {10 * m.upper_teeth_shown[f]:.1f} mm"
        return _mouth_tile(r, tk, f, [head, text], j["lands"])
    if cls == "S/T":
        return _mouth_tile(r, tk, f, [head, f"lip-edge {10 * m.lower_lip_to_incisor[f]:+.1f} gap {10 * m.lip_gap[f]:.1f} mm"])
    return _mouth_tile(r, tk, f, [head, f"gap {10 * m.lip_gap[f]:.1f} width {10 * m.mouth_width[f]:.1f} mm"])


def _strip(r: FrontRenderer, none: list[Take], neutral_gap: float, columns: int):
    """Consecutive frames through one bilabial: in LibriVox 0920 (else the first take) the first
    P/B/M sealed on exactly one frame (a snap), else the first one."""
    tk = next((t for t in none if t.item.name == "0920"), none[0] if none else None)
    if tk is None:
        return None
    ws = fm.phone_windows(tk.item.reference, FPS, tk.track.num_frames, CLASSES["P/B/M"])
    if not ws:
        return None
    judged = fm.judge_bilabials(tk.ict.lip_gap, ws, neutral_gap)
    w = next((x for x, j in zip(ws, judged) if j["sealed_frames"] == 1), ws[0])
    lo = max(min(w.mid - columns // 2, tk.track.num_frames - columns), 0)
    tiles = [_mouth_tile(r, tk, f, [f"{tk.item.name} f{f}{' (' + w.phone + ')' if w.lo <= f <= w.hi else ''}",
                                    f"gap {10 * tk.ict.lip_gap[f]:.1f} mm"], bool(fm.sealed(tk.ict.lip_gap[f], neutral_gap)))
             for f in range(lo, min(lo + columns, tk.track.num_frames))]
    return f"strip: {tk.item.name} {w.phone} {w.start:.2f}-{w.end:.2f} s (green: sealed)", tiles


def _eye_row(res: Results, eye: FrontRenderer, columns: int):
    tiles = [_tile(eye.render(np.zeros(52)), ["ICT neutral", f"lids {10 * res.mouth['neutral_eyelid_gap_cm'][0]:.1f} mm"])]
    for key, k in (("none", 3), ("terrified", columns - 4)):
        cands = [(tk, int(p)) for tk in res.takes if tk.prompt == key for p in blinks(tk.track.arkit, FPS).peaks]
        for tk, p in _pick(cands, k):
            a, gap = tk.track.arkit[p], tk.ict.eyelid_gap[p, 0]
            tiles.append(_tile(eye.render(a), [f"{tk.item.name[:10]} {key[:5]} f{p}",
                                               f"bl {a[INDEX['eyeBlinkLeft']]:.2f} wd {a[INDEX['eyeWideLeft']]:.2f} {10 * gap:.1f}mm"],
                               GOOD if gap <= fm.EYE_CLOSED_CM else BAD))
    return "left eye at blink peaks: no prompt, then \"terrified\" (lid gap at the eye centre; green: closed)", tiles


def write_sheet(res: Results, path: Path, columns: int = 8, progress=print) -> None:
    """Mouth close-ups (ICT, front) at the middle of reference phones per class in the no-prompt
    takes, a strip of consecutive frames through a bilabial, and the left eye at blink peaks.
    Ticks at the tile edges: yellow = the upper lip's lowest point, cyan = the lower lip's highest
    point, green = the upper incisor edge. Captions green / red: the phone lands / misses."""
    from PIL import Image, ImageDraw

    mesh = fm.load_ict(shared_data() / "ict_facekit")
    mouth, eye = FrontRenderer(mesh, MOUTH_CROP, 24.0), FrontRenderer(mesh, EYE_CROP, 40.0)
    none = [t for t in res.takes if t.prompt == "none"]
    neutral_gap = res.mouth["neutral_gap_cm"]
    neutral = _tile(mouth.render(np.zeros(52)), ["ICT neutral", f"gap {10 * neutral_gap:.2f} mm"])
    rows = []
    for cls, labels in CLASSES.items():
        cands = [(tk, w) for tk in none for w in fm.phone_windows(tk.item.reference, FPS, tk.track.num_frames, labels)]
        first = [neutral] if cls == "P/B/M" else []
        rows.append((f"{cls} at mid-phone", first + [_phone_tile(mouth, cls, tk, w, neutral_gap)
                                                     for tk, w in _pick(cands, columns - len(first))]))
        progress(f"face: sheet: {cls}")
    rows += [r for r in (_strip(mouth, none, neutral_gap, columns), _eye_row(res, eye, columns)) if r]
    tw = max(t.width for _, ts in rows for t in ts)
    th = max(t.height for _, ts in rows for t in ts)
    sheet = Image.new("RGB", (4 + columns * (tw + 4), 4 + len(rows) * (th + 20)), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    for n, (title, tiles) in enumerate(rows):
        y = 4 + n * (th + 20)
        d.text((4, y), title, fill=PLAIN)
        for i, t in enumerate(tiles[:columns]):
            sheet.paste(t, (4 + i * (tw + 4), y + 16))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)  # a quarter of the RGB size


# --- entry points ---------------------------------------------------------------------------

def run(full: bool = False, out_dir: Path | None = None, progress=print) -> Section:
    """For ``benchmarks.report``: the quick set unless ``full``; the sheet goes to ``out_dir``."""
    res = evaluate(quick=not full, progress=progress)
    sec = section(res, quick=not full)
    if out_dir is not None and res.takes:
        write_sheet(res, Path(out_dir) / "face_sheet.png", progress=progress)
        sec.plots.append("face_sheet.png")
    return sec


def _plain(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    return obj.tolist() if isinstance(obj, np.ndarray) else str(obj)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.face", description="The face judged on a mesh (issue 15).")
    p.add_argument("--quick", action="store_true", help="five recordings instead of twenty")
    p.add_argument("--json", metavar="OUT", help="write the figures, every judged phone and the statistics here")
    p.add_argument("--sheet", metavar="OUT.png", help="write a contact sheet of the mouth at reference phones")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = p.parse_args(argv)
    progress = (lambda msg: None) if args.quiet else (lambda msg: print(f"  .. {msg}", file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    res = evaluate(quick=args.quick, progress=progress)
    if args.sheet and res.takes:
        t1 = time.perf_counter()
        write_sheet(res, Path(args.sheet), progress=progress)
        res.seconds["sheet"] = time.perf_counter() - t1
    res.seconds["total"] = time.perf_counter() - t0
    sec = section(res, args.quick)
    print(sec.markdown())
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"title": sec.title, "header": sec.header, "rows": sec.rows, "notes": sec.notes,
                                               "data": sec.data}, indent=1, default=_plain) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
