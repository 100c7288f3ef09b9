"""Benchmarks: a fast smoke run of the lip-accuracy area and the report writer, the Rhubarb path
with a stand-in binary, and the command line. The whole quick set is marked slow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import Section, lips
from benchmarks.__main__ import main as bench_main
from benchmarks.report import write_report
from talkclip_model.evaluation.lips import CLASSES, score_lips

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # runs the lip benchmark end to end (6 s)
def test_lips_on_two_synthetic_lines_and_report(tmp_path):
    items = lips.synthetic_items(limit=2)
    assert len(items) == 2
    results = lips.evaluate({"synthetic": items}, out_dir=tmp_path, conditions=lips.CONDITIONS[:2],
                            progress=lambda m: None)
    sec = lips.section(results)
    assert sec.header[:2] == ["data set", "condition"]
    assert [h.replace(" ", "_") for h in sec.header[2:6]] == list(CLASSES)
    assert sec.header[6:] == ["overall", "phones", "mean lag ms", "target"]
    assert len(sec.rows) == 2
    with_text = results["synthetic"]["with"]
    assert sum(with_text.checked.values()) >= 20
    assert 0.8 <= with_text.rate() <= 1.0  # exact timings + transcript: nearly every mouth shape right
    assert all(abs(lag) <= 0.2 for lag in with_text.lags)
    assert sec.rows[0][-1].startswith(("PASS", "MISS"))

    lips.bar_chart(results, tmp_path / "lips_per_class.png")
    md = write_report([sec], tmp_path, full=False)
    assert (tmp_path / "report.md").read_text() == md
    assert "| data set | condition | bilabial |" in md
    data = json.loads((tmp_path / "report.json").read_text())
    per = data["sections"][0]["data"]["results"]["synthetic"]["with"]
    assert 0.8 <= per["overall"] <= 1.0
    for png in ("lips_per_class.png", f"take_synthetic_{items[0].name}.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    assert (tmp_path / f"take_synthetic_{items[0].name}.json").is_file()


def test_rhubarb_cues_are_scored_like_our_tracks(tmp_path):
    item = lips.synthetic_items(limit=1)[0]
    ref = item.reference
    # ideal cues from the exact timings: A on bilabials, D on open vowels, F on rounded, G on f/v
    shape = {c: s for c, s in zip(CLASSES, "ADFG")}
    cues = []
    for p, s, e in zip(ref.phones, ref.starts, ref.ends):
        cls = next((c for c, members in CLASSES.items() if p in members), None)
        cues.append({"start": s, "end": e, "value": shape[cls] if cls else "C"})
    good = lips.cues_to_track(cues, ref.duration)
    assert good.arkit.shape[1] == 52
    scores = score_lips(good, ref)
    assert all(s.rate == 1.0 for s in scores.values() if s.checked)
    rest = score_lips(lips.cues_to_track([], ref.duration), ref)  # mouth at rest: only closures count
    assert rest["bilabial"].rate == 1.0 and rest["open_vowel"].rate == 0.0

    fake = tmp_path / "rhubarb"  # a stand-in binary that prints one cue, as rhubarb -f json does
    fake.write_text("#!/bin/sh\necho '{\"metadata\": {\"duration\": 1.0}, \"mouthCues\": "
                    "[{\"start\": 0.0, \"end\": 1.0, \"value\": \"D\"}]}'\n")
    fake.chmod(0o755)
    track = lips.rhubarb_track(str(fake), item, with_text=True, folder=tmp_path)
    from talkclip_model.arkit import INDEX

    assert track.num_frames == 31  # frames 0..30 at 30 fps; the last (t = 1.0 = end) is at rest
    assert np.allclose(track.arkit[:30, INDEX["jawOpen"]], lips.RHUBARB_POSES["D"]["jawOpen"])
    assert (tmp_path / f"{item.name}.dialog.txt").read_text().strip() == item.transcript


WASM_CLI = Path(lips.__file__).with_name("rhubarb_wasm.mjs")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_rhubarb_wasm_stand_in_checks_its_input(tmp_path):
    import soundfile as sf

    def run(*args, env_dir=str(tmp_path)):
        env = dict(os.environ, RHUBARB_WASM=env_dir)
        return subprocess.run(["node", str(WASM_CLI), "-f", "json", "--quiet", *args], capture_output=True,
                              text=True, env=env, timeout=120)

    wav44 = tmp_path / "cd.wav"
    sf.write(wav44, np.zeros(4410, np.float32), 44100, subtype="PCM_16")
    proc = run(str(wav44))
    assert proc.returncode == 1 and "needs 16-bit PCM, 16 kHz, mono" in proc.stderr and "44100 Hz" in proc.stderr
    (tmp_path / "notes.txt").write_text("not audio")
    proc = run(str(tmp_path / "notes.txt"))
    assert proc.returncode == 1 and "not a WAV file" in proc.stderr
    proc = run("-f", "tsv", str(wav44))
    assert proc.returncode == 1 and "only -f json" in proc.stderr
    package = os.environ.get("RHUBARB_WASM")
    if not package or not Path(package, "dist", "wasm", "rhubarb.js").is_file():
        return  # the port itself is optional (npm install rhubarb-lip-sync-wasm; see docs/benchmarks.md)
    item = lips.synthetic_items(limit=1)[0]
    track = lips.rhubarb_track(str(WASM_CLI), item, with_text=False, folder=tmp_path)
    scores = score_lips(track, item.reference)
    assert track.num_frames >= int(item.reference.duration * 30)
    assert scores["bilabial"].correct > 0 and scores["open_vowel"].correct > 0


def test_command_line_rejects_unknown_area_and_missing_rhubarb(capsys, tmp_path):
    assert bench_main(["--only", "speed,nope", "--out", str(tmp_path)]) == 2
    assert "unknown area" in capsys.readouterr().err
    assert bench_main(["--rhubarb", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2


def test_section_markdown():
    sec = Section("T", header=["a", "b"], rows=[["1", "2"]], notes=["n"], plots=["p.png"])
    md = sec.markdown()
    assert md.splitlines()[:5] == ["## T", "", "| a | b |", "|---|---|", "| 1 | 2 |"]
    assert "- n" in md and "![p.png](p.png)" in md


@pytest.mark.slow
def test_quick_set_from_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--out", str(tmp_path), "--quiet"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = (tmp_path / "report.md").read_text()
    assert proc.stdout.strip() == md.strip()
    for title in ("## Speed", "## Lip accuracy", "## Style accuracy", "## Bake speed", "## Batch throughput"):
        assert title in md
    assert (tmp_path / "lips_per_class.png").is_file()
