"""Recognition without a transcript through Whisper: ``python -m benchmarks.whisper [--json PATH]``.

- lips on the MFA monologues (``../shared/data``; TextGrid references) without a transcript,
  PocketSphinx words (the fallback) against Whisper words aligned by the transcript path, and
  with the true transcript for the ceiling; CPU seconds per audio second of ``Pipeline.generate``
  on ONE thread (CTranslate2 and OpenMP limited to one; PocketSphinx is single-threaded);
- short lines: the MFA corpus's short clips recognised one by one (``whisper.transcribe``, a 30 s
  window each) and packed together (``whisper.recognise_many``): CPU seconds and whether the
  words agree.

Needs faster-whisper and a Whisper model (scripts/whisper_fixtures.py installs the test ones).
Results: docs/languages.md ("Without a transcript").
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

from . import Section, pct, shared_data

os.environ.setdefault("TALKCLIP_WHISPER_THREADS", "1")  # before any model loads: one core
os.environ.setdefault("OMP_NUM_THREADS", "1")

MONOLOGUES = ("acoustic_corpus", "cold_corpus", "cold_corpus3")
CONDITIONS = (("words", None), ("whisper", None), ("with transcript", "transcript"))
SHORT_LINES = 24  # short MFA clips in the batching measurement


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def lips(progress=print) -> tuple[list[list[str]], dict]:
    from benchmarks.lips import mfa_items
    from talkclip_model.evaluation.lips import overall, score_lips
    from talkclip_model.pipeline import GenerateOptions, Pipeline

    pipeline = Pipeline()
    rows, data = [], {}
    items = mfa_items(MONOLOGUES)
    for label, how in CONDITIONS:
        correct = checked = 0
        cpu = audio = 0.0
        for item in items:
            progress(f"whisper: {item.name}: {label}")
            opts = GenerateOptions(transcript=item.transcript if how else None,
                                   recognizer="words" if label == "words" else "whisper", language="en")
            t0 = time.process_time()
            track = pipeline.generate(item.audio, opts)
            cpu += time.process_time() - t0
            audio += track.duration
            scores = score_lips(track, item.reference)
            correct += sum(s.correct for s in scores.values())
            checked += sum(s.checked for s in scores.values())
            data.setdefault(label, {})[item.name] = {"lips": overall(scores), "notes": track.meta.get("notes"),
                                                     "heard": (track.meta.get("recognised") or {}).get("text")}
        rate = correct / checked if checked else float("nan")
        rows.append(["MFA monologues", label, pct(rate), str(checked), f"{cpu / audio:.3f}" if audio else "n/a",
                     f"{audio / cpu:.1f}x" if cpu else "n/a"])
        data.setdefault(label, {})["overall"] = {"lips": rate, "cpu_per_audio_s": cpu / audio if audio else None}
    return rows, data


def batching(progress=print) -> tuple[list[str], dict]:
    from talkclip_model.speech import whisper
    from talkclip_model.speech.audio import load_audio

    data_dir = shared_data()
    assert data_dir is not None
    files = sorted((data_dir / "mfa_test_corpus" / "audio").glob("mfa_*.flac"))[:SHORT_LINES]
    clips = [load_audio(f).samples for f in files]
    ref = whisper.find_model("en")
    assert ref is not None
    whisper.load(ref)  # loading is not part of either
    progress(f"whisper: {len(clips)} short lines one by one")
    t0 = time.process_time()
    single = [whisper.transcribe(ref, c, "en") for c in clips]
    one_by_one = time.process_time() - t0
    progress(f"whisper: {len(clips)} short lines packed")
    t0 = time.process_time()
    packed = whisper.recognise_many(ref, clips, "en")
    together = time.process_time() - t0
    same = sum(words_of(a.text) == words_of(b.text) for a, b in zip(single, packed))
    truth = transcripts(data_dir / "mfa_test_corpus" / "transcripts.tsv")
    match = [np.mean([difflib.SequenceMatcher(a=truth.get(f.name, []), b=words_of(r.text)).ratio()
                      for f, r in zip(files, rs)]) for rs in (single, packed)]
    audio = sum(len(c) for c in clips) / 16000
    row = [f"{len(clips)} short MFA lines ({audio:.0f} s)", f"{one_by_one:.1f}", f"{together:.1f}",
           f"{one_by_one / together:.1f}x" if together else "n/a", f"{same}/{len(clips)}",
           f"{match[0]:.3f}", f"{match[1]:.3f}"]
    lines = [{"file": f.name, "one": a.text, "packed": b.text} for f, a, b in zip(files, single, packed)]
    return row, {"cpu_one_by_one": one_by_one, "cpu_packed": together, "same_words": same,
                 "match_one_by_one": match[0], "match_packed": match[1], "lines": lines}


def transcripts(tsv: Path) -> dict[str, list[str]]:
    """File name -> the words of its reference transcript (MFA's <cutoff>, [laughter] marks dropped)."""
    out = {}
    for row in csv.DictReader(tsv.open(encoding="utf-8"), delimiter="\t"):
        out[row["file"]] = words_of(re.sub(r"<[^>]*>|\[[^\]]*\]", " ", row["transcript"]))
    return out


def foreign(progress=print, given_language: bool = False) -> tuple[list[list[str]], dict]:
    """Lines of benchmarks.languages read by an mbrola voice, animated without a transcript
    (language detected unless ``given_language``): lips against the .pho truth, language right."""
    import tempfile

    from benchmarks.languages import LINES, VOICES
    from talkclip_model.evaluation import mbrola
    from talkclip_model.evaluation.lips import score_lips
    from talkclip_model.pipeline import GenerateOptions, Pipeline

    pipeline = Pipeline()
    rows, data = [], {}
    with tempfile.TemporaryDirectory(prefix="talkclip-whisper-") as tmp:
        for code, lines in LINES.items():
            voice = VOICES[code][0]
            if not mbrola.available(voice):
                continue
            progress(f"whisper: {code} ({voice}) without a transcript")
            correct = checked = right = 0
            cpu = audio = 0.0
            for i, text in enumerate(lines):
                syn = mbrola.synthesize(text, voice, Path(tmp) / f"{voice}_{i}.wav")
                t0 = time.process_time()
                track = pipeline.generate(syn.wav, GenerateOptions(language=code if given_language else None))
                cpu += time.process_time() - t0
                audio += syn.truth.duration
                right += track.meta["language"] == code
                scores = score_lips(track, syn.truth)
                correct += sum(s.correct for s in scores.values())
                checked += sum(s.checked for s in scores.values())
                data.setdefault(code, []).append({"text": text, "heard": (track.meta.get("recognised") or {}).get("text"),
                                                  "language": track.meta["language"], "source": track.meta["phone_source"]})
            rows.append([f"{code} ({voice})", pct(correct / checked if checked else float("nan")), str(checked),
                         f"{right}/{len(lines)}", f"{cpu / audio:.2f}" if audio else "n/a"])
    return rows, data


def run(progress=print, lips_too: bool = True) -> Section:
    sec = Section("Without a transcript: Whisper (one thread)")
    if shared_data() is None:
        sec.notes.append("../shared/data not found (set TALKCLIP_SHARED_DATA): nothing measured.")
        return sec
    sec.header = ["data set", "recogniser", "lips", "phones", "CPU s per audio s", "real time"]
    sec.rows, lip_data = lips(progress) if lips_too else ([], {})
    row, batch_data = batching(progress)
    sec.notes.append("Short lines, CPU s one by one vs packed into 30 s windows: "
                     f"{row[0]}: {row[1]} s vs {row[2]} s ({row[3]} faster); lines with the very same words "
                     f"{row[4]}; word match with the reference transcripts (difflib ratio, mean) {row[5]} one by one, "
                     f"{row[6]} packed.")
    sec.data = {"lips": lip_data, "batching": batch_data}
    return sec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", type=Path, help="also write the measurements as JSON")
    p.add_argument("--batching-only", action="store_true", help="only the short lines")
    p.add_argument("--languages", action="store_true", help="instead: synthetic lines in other languages "
                   "(mbrola), without a transcript, the language detected")
    args = p.parse_args(argv)
    if args.languages:
        rows, data = foreign(progress=lambda m: print(m, file=sys.stderr))
        sec = Section("Without a transcript, other languages (mbrola, language detected)",
                      ["language (voice)", "lips", "phones", "language right", "CPU s per audio s"], rows, data=data)
        print(sec.markdown())
        if args.json:
            args.json.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        return 0
    sec = run(progress=lambda m: print(m, file=sys.stderr), lips_too=not args.batching_only)
    print(sec.markdown())
    if args.json:
        args.json.write_text(json.dumps(sec.data, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
