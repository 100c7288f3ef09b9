"""The face benchmark's figures against issue 15's targets, as the report's tables
(``benchmarks/face.py`` measures; this formats)."""

from __future__ import annotations

import numpy as np

from talkclip_model.evaluation import face_mesh as fm

from . import Section, pct, verdict
from .face_stats import FPS, PROMPTS, VELOCITY_GROUPS, Results, _pctl

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
        ">= 30 ms): the mesh-fitted measures of animate/mouth.py; sealed = a residual gap <= 0.02 jaw units "
        "(0.66 mm on ICT) held about 55 ms.",
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
