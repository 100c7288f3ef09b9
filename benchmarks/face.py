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
from pathlib import Path

import numpy as np

from talkclip_model.arkit import ARKIT_NAMES, INDEX
from talkclip_model.evaluation import face_mesh as fm

from . import Section, shared_data
from .face_report import section
from .face_sheet import write_sheet
from .face_stats import (
    CLASSES,
    FPS,
    PINNED,
    PROMPTS,
    Results,
    Take,
    _pctl,
    blinks,
    correlation,
    gaze_yaw,
    resample,
    weight_stats,
)
from .lips import EXTRA_SENTENCES, Item, librivox_items, mfa_items, synthesize_items, synthetic_items

QUICK = {"LibriVox": ("0870", "0920"), "MFA": ("acoustic_corpus",), "synthetic": ("line1_us1", "line2_us2")}
MFA_MONOLOGUES = ("acoustic_corpus", "cold_corpus", "cold_corpus3")
N_EXTRA_SENTENCES = 3  # x 2 mbrola voices: 5 LibriVox + 3 MFA + 6 synthetic + 6 = 20 recordings

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
