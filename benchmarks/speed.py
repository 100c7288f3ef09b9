"""Speed of ``Pipeline.generate``: x real time, per-stage seconds and peak memory per take.

Each take runs in a fresh process (``benchmarks._one_take``), pinned to one core with
``taskset -c 0`` when that exists. Long audio is real speech (LibriVox utterances + the MFA
corpus monologues from ``../shared/data``) joined with short pauses, its transcript joined from
theirs; without the shared data the synthetic test lines are used.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import REPO, SPEECH_DIR, Section, shared_data, verdict

RATE = 16000
PAUSE_S = 0.3
TARGET_X_REALTIME = 30.0  # issue 2: 60 s with transcript at >= 30x real time on one core
TARGET_PEAK_MB = 500.0
QUICK_LENGTHS = (10.0, 60.0)
FULL_LENGTHS = (10.0, 60.0, 600.0)
STAGES = ("audio_decode", "phonemes", "style", "to_arkit", "export")


def speech_sources(read_only: bool = False) -> list[tuple[Path, str]]:
    """(audio, transcript) of real utterances to build long takes from (``read_only``: only the
    LibriVox reading, no spontaneous or hoarse speech)."""
    from talkclip_model.evaluation.references import textgrid_transcript

    data = shared_data()
    out: list[tuple[Path, str]] = []
    if data is not None:
        lv = data / "pocketsphinx_test" / "librivox"
        for wav in sorted(lv.glob("*.wav")):
            txt = wav.with_suffix(".txt")
            if txt.is_file():
                out.append((wav, txt.read_text(encoding="utf-8").strip()))
        mfa = data / "mfa_test_corpus"
        for name in () if read_only else ("acoustic_corpus", "cold_corpus", "cold_corpus3"):
            wav, tg = mfa / "audio" / f"{name}.wav", mfa / "textgrid" / f"{name}.TextGrid"
            if wav.is_file() and tg.is_file():
                out.append((wav, textgrid_transcript(tg)))
    if not out:
        for wav in sorted(SPEECH_DIR.glob("*.wav")):
            out.append((wav, wav.with_suffix(".txt").read_text(encoding="utf-8").strip()))
    return out


def _read_16k(path: Path) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    return soxr.resample(x, sr, RATE) if sr != RATE else x


def build_speech(seconds: float, folder: Path, read_only: bool = False) -> tuple[Path, Path, float]:
    """Whole utterances joined (cycling) until ``seconds`` is reached: (wav, transcript, seconds)."""
    import soundfile as sf

    sources = speech_sources(read_only)
    pause = np.zeros(int(PAUSE_S * RATE), np.float32)
    clips = [_read_16k(wav) for wav, _ in sources]
    lengths = [len(c) / RATE + PAUSE_S for c in clips]
    uses = [0] * len(sources)
    parts, words, total = [], [], 0.0
    while total < seconds - 1.0:
        # the least used utterance that still fits (the longest of those); else the shortest
        fits = [i for i in range(len(sources)) if total + lengths[i] <= seconds + 0.5]
        i = min(fits, key=lambda k: (uses[k], -lengths[k])) if fits else min(range(len(sources)), key=lengths.__getitem__)
        uses[i] += 1
        parts += [clips[i], pause]
        words.append(sources[i][1])
        total += lengths[i]
    audio = np.concatenate(parts)
    stem = f"speech_{int(seconds)}s" + ("_read" if read_only else "")
    wav_path, txt_path = folder / f"{stem}.wav", folder / f"{stem}.txt"
    sf.write(str(wav_path), audio, RATE, subtype="PCM_16")
    txt_path.write_text(" ".join(words) + "\n", encoding="utf-8")
    return wav_path, txt_path, len(audio) / RATE


def one_core_prefix() -> list[str]:
    return ["taskset", "-c", "0"] if shutil.which("taskset") else []


def run_take(audio: Path, transcript: Path | None, recognizer: str = "words", track: Path | None = None,
             one_core: bool = True, timeout: float = 1800) -> dict:
    cmd = (one_core_prefix() if one_core else []) + [sys.executable, "-m", "benchmarks._one_take", str(audio),
                                                     "--recognizer", recognizer]
    if transcript is not None:
        cmd += ["--transcript-file", str(transcript)]
    if track is not None:
        cmd += ["--track", str(track)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"take {audio.name} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(full: bool = False, out_dir: Path | None = None, progress=print) -> Section:
    lengths = FULL_LENGTHS if full else QUICK_LENGTHS
    pinned = bool(one_core_prefix())
    sec = Section("Speed: generate (one process per take)")
    sec.header = ["audio", "transcript", "x real time", "wall s", "audio decode", "phonemes", "style",
                  "to ARKit", "export", "peak MB", "target"]
    results = []
    with tempfile.TemporaryDirectory(prefix="talkclip-speed-") as tmp:
        for seconds in lengths:
            wav, txt, dur = build_speech(seconds, Path(tmp))
            for with_text in (True, False):
                progress(f"speed: {dur:.0f} s {'with' if with_text else 'without'} transcript")
                r = run_take(wav, txt if with_text else None)
                r.update({"target_s": seconds, "transcript": with_text, "recognizer": "words"})
                results.append(r)
                target = ""
                if seconds == 60.0 and with_text:
                    ok = r["x_realtime"] >= TARGET_X_REALTIME and r["peak_mb"] < TARGET_PEAK_MB
                    target = (f"{verdict(ok)} (>= {TARGET_X_REALTIME:g}x, < {TARGET_PEAK_MB:g} MB)")
                elif r["peak_mb"] >= TARGET_PEAK_MB:
                    target = f"MISS (memory < {TARGET_PEAK_MB:g} MB)"
                sec.rows.append(_row(r, "yes" if with_text else "no (words)", target))
        # 60 s comparison takes: clean reading only, and the mixed take on all cores
        extras = [("read_only", "of read speech with transcript", "yes (read speech only)", "")] if shared_data() else []
        extras += [("unpinned", "with transcript, unpinned", "yes (all cores)", "(not pinned)")] if pinned else []
        for flag, what, label, target in extras:
            wav, txt, dur = build_speech(60.0, Path(tmp), read_only=flag == "read_only")
            progress(f"speed: {dur:.0f} s {what}")
            r = run_take(wav, txt, one_core=flag != "unpinned")
            r.update({"target_s": 60.0, "transcript": True, "recognizer": "words", flag: True})
            results.append(r)
            sec.rows.append(_row(r, label, target))
    sec.data = {"one_core": pinned, "takes": results, "target_x_realtime": TARGET_X_REALTIME,
                "target_peak_mb": TARGET_PEAK_MB}
    sec.notes.append("Stage columns are seconds. x real time = audio seconds / (generate + export) wall seconds; "
                     "the style model is loaded before the take (load time: see the style section). Prompt: "
                     "'calm, slightly smiling'.")
    main = [r for r in results if r["target_s"] == 60.0 and r["transcript"] and not _comparison(r)]
    if main:
        r = main[0]
        share = r["stages"]["phonemes"] / r["wall_s"] if r["wall_s"] else 0.0
        need = r["audio_s"] / TARGET_X_REALTIME
        sec.notes.append(f"60 s with transcript: the phonemes stage (PocketSphinx alignment) is {share:.0%} of the wall "
                         f"time; the {TARGET_X_REALTIME:g}x target needs the whole take in {need:.1f} s.")
    longest = max((r for r in results if r["transcript"] and not _comparison(r)), key=lambda r: r["audio_s"],
                  default=None)
    if longest and "peak_after_load_mb" in longest:
        sec.notes.append(f"Memory of the {longest['audio_s']:.0f} s take with transcript: {longest['peak_after_load_mb']:.0f} MB "
                         f"after loading the models, {longest['peak_before_export_mb']:.0f} MB after generate, "
                         f"{longest['peak_mb']:.0f} MB after the JSON export.")
    sec.notes.append("Pinned to one core with `taskset -c 0`." if pinned else
                     "taskset not found: takes ran unpinned (all cores).")
    if out_dir is not None and results:
        stage_chart(results, Path(out_dir) / "speed_stages.png")
        sec.plots.append("speed_stages.png")
    src = "LibriVox + MFA corpus speech from ../shared/data" if shared_data() else "the synthetic test lines"
    sec.notes.append(f"Audio: whole utterances of {src}, joined with {PAUSE_S:g} s pauses (so lengths are approximate); "
                     "peak MB is the take process's maximum resident set (ru_maxrss).")
    return sec


def _comparison(r: dict) -> bool:
    """One of the 60 s comparison takes (read speech only, or all cores), not the mixed series."""
    return bool(r.get("unpinned") or r.get("read_only"))


def _row(r: dict, transcript: str, target: str) -> list[str]:
    """One table row of a take's result."""
    return ([f"{r['audio_s']:.1f} s", transcript, f"{r['x_realtime']:.1f}x", f"{r['wall_s']:.2f}"]
            + [f"{r['stages'][k]:.3f}" for k in STAGES] + [f"{r['peak_mb']:.0f}", target])


def stage_chart(results: list[dict], out_png: Path) -> None:
    """Seconds of compute per second of audio, split by stage, one bar per take."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['audio_s']:.0f} s, {'transcript' if r['transcript'] else 'no transcript'}"
              + (" (all cores)" if r.get("unpinned") else "") + (" (reading)" if r.get("read_only") else "")
              for r in results]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(results) + 1.5))
    left = np.zeros(len(results))
    for stage in STAGES:
        vals = np.array([1000 * r["stages"][stage] / r["audio_s"] for r in results])
        ax.barh(labels, vals, left=left, label=stage.replace("_", " "))
        left += vals
    ax.axvline(1000 / TARGET_X_REALTIME, color="k", ls="--", lw=0.8, label=f"{TARGET_X_REALTIME:g}x real time")
    ax.set_xlabel("compute ms per second of audio (lower is faster)")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("generate + export, per stage")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
