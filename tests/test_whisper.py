"""Recognition without a transcript through Whisper (talkclip_model/speech/whisper.py).

The model tests use the test fixtures scripts/whisper_fixtures.py installs into the Hugging Face
cache (Whisper tiny.en and base, pinned hashes); without them they skip, which fails CI
(TALKCLIP_REQUIRE_ALL=1). Finding models, packing and the missing-model errors need no model.
"""

from __future__ import annotations

import difflib
import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT, need_tool, shared

from talkclip_model.errors import TalkclipError
from talkclip_model.pipeline import GenerateOptions, Pipeline
from talkclip_model.speech import audio, phonemes, whisper
from talkclip_model.types import Recognition


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def similar(a: list[str], b: list[str], ratio: float = 0.9) -> bool:
    return difflib.SequenceMatcher(a=a, b=b).ratio() >= ratio


def _cached(name: str) -> whisper.ModelRef:
    pytest.importorskip("faster_whisper")
    ref = whisper.cached_model(name)
    if ref is None:
        pytest.skip(f"Whisper {name} not in the Hugging Face cache (run scripts/whisper_fixtures.py)")
    return ref


@pytest.fixture
def tiny_en():
    return _cached("tiny.en")


@pytest.fixture
def base_model():
    return _cached("base")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """No Whisper model anywhere: an empty hub cache and no TALKCLIP_WHISPER_MODEL."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(whisper.ENV_MODEL, raising=False)
    return tmp_path


def fake_model(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in whisper.MODEL_FILES:
        (folder / name).write_text("{}")
    return folder


# --- finding a model (no model needed) ----------------------------------------------------------

def test_models_are_found_in_the_hub_cache_layout(empty_cache, monkeypatch):
    hub = empty_cache / "hub"
    assert whisper.find_model("en") is None and whisper.find_model(None) is None
    fake_model(hub / "models--Systran--faster-whisper-base" / "snapshots" / "abc")
    assert whisper.find_model("en").name == "base"  # English takes a multilingual model too
    repo = hub / "models--Systran--faster-whisper-tiny.en"
    fake_model(repo / "snapshots" / "old")
    fake_model(repo / "snapshots" / "new")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("new")
    found = whisper.find_model("en")
    assert found.name == "tiny.en" and found.path == repo / "snapshots" / "new"  # English-only first, refs/main
    assert whisper.find_model(None).name == "base" and whisper.find_model("de").name == "base"
    assert whisper.model_named("tiny.en", "--whisper-model").path == found.path
    monkeypatch.setenv(whisper.ENV_MODEL, str(hub / "models--Systran--faster-whisper-base" / "snapshots" / "abc"))
    assert whisper.find_model("en").path.name == "abc"  # the environment variable wins over the cache


def test_a_given_model_that_is_missing_is_a_one_line_error(empty_cache, monkeypatch):
    with pytest.raises(whisper.ModelMissing, match="no such folder; get one with `hf download Systran/"):
        whisper.find_model("en", str(empty_cache / "nowhere"))
    (empty_cache / "half").mkdir()
    (empty_cache / "half" / "model.bin").write_text("")
    with pytest.raises(whisper.ModelMissing, match="not a faster-whisper model folder"):
        whisper.find_model("en", str(empty_cache / "half"))
    with pytest.raises(whisper.ModelMissing, match="not in the Hugging Face cache"):
        whisper.find_model("en", "base")
    monkeypatch.setenv(whisper.ENV_MODEL, str(empty_cache / "gone"))
    with pytest.raises(whisper.ModelMissing, match=whisper.ENV_MODEL):
        whisper.find_model("en")


def test_generate_asking_for_whisper_without_a_model_fails_in_one_line(empty_cache, tmp_path):
    env = {"HF_HUB_CACHE": str(empty_cache / "hub"), "HF_HOME": str(empty_cache / "hf"),
           "XDG_CACHE_HOME": str(empty_cache / "xdg"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "talkclip_cli", "generate", "--audio", str(EXAMPLES / "hello.wav"),
                           "--recognizer", "whisper", "--out", str(tmp_path / "t.json")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode != 0 and not (tmp_path / "t.json").exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("talkclip: error: no Whisper model found; get one with `hf download")


def test_without_a_model_auto_warns_and_falls_back_to_pocketsphinx(empty_cache):
    clip = audio.load_audio(EXAMPLES / "hello.wav")
    with pytest.warns(UserWarning, match="no Whisper model found.*PocketSphinx"):
        track = phonemes.phone_track(clip)
    assert track.source == "recognition" and track.recognition is None


def test_packing_keeps_windows_short_and_clips_in_order():
    assert whisper.pack([3.0, 4.0, 10.0, 12.0, 40.0, 2.0], window_s=24.0, gap_s=1.0) == [[0, 1, 2], [3], [4], [5]]
    assert whisper.pack([]) == []


def test_packed_words_go_back_to_their_clips():
    w = lambda word, s, e: SimpleNamespace(word=word, start=s, end=e)  # noqa: E731
    segments = [SimpleNamespace(words=[w(" one", 0.1, 0.5), w(" two", 0.6, 1.9)]),
                SimpleNamespace(words=[w(" three", 3.05, 3.4), w(" four", 3.5, 4.9)])]
    # clip 0: 0-2 s, gap 2-3 s, clip 1: 3-5 s; a word's middle in the gap's first half stays with clip 0
    out = whisper._split_words(segments, [(0.0, 2.0), (3.0, 2.0)])
    assert [x[0] for x in out[0]] == [" one", " two"] and [x[0] for x in out[1]] == [" three", " four"]
    assert out[1][0][1] == pytest.approx(0.05) and out[1][1][2] == pytest.approx(1.9)


def test_a_recognition_round_trips_as_json():
    rec = Recognition("Hello there.", "en", "tiny.en", (("Hello", 0.1, 0.4), ("there", 0.45, 0.8)))
    assert Recognition.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec
    with pytest.raises(ValueError, match="not a recognition"):
        Recognition.from_dict({"words": []})


# --- with the model -------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_example_without_a_transcript_gets_whispers_words(tiny_en, tmp_path, monkeypatch):
    monkeypatch.delenv(whisper.ENV_MODEL, raising=False)
    out = tmp_path / "hello.json"
    from talkclip_cli.cli import main

    assert main(["generate", "--audio", str(EXAMPLES / "hello.wav"), "--language", "en", "--out", str(out),
                 "--quiet"]) == 0
    meta = json.loads(out.read_text())["meta"]
    assert meta["phone_source"] == "whisper" and meta["language"] == "en"
    heard = meta["recognised"]
    truth = words((EXAMPLES / "hello.txt").read_text())
    assert heard["model"] == "tiny.en" and similar(words(heard["text"]), truth)  # "I'm" for "I am"
    assert [w for w, _, _ in heard["words"]] == words(heard["text"])  # aligned word times, in order, in the take
    starts = [s for _, s, _ in heard["words"]]
    assert starts == sorted(starts) and all(0 <= s < e <= meta["duration"] for _, s, e in heard["words"])


@pytest.mark.slow
def test_recognition_never_touches_the_network(tiny_en, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(whisper, "_MODELS", {})  # load the model afresh, with the network refused
    clip = audio.load_audio(EXAMPLES / "hello.wav")
    rec = whisper.transcribe(tiny_en, clip.samples, "en")
    assert "coffee" in words(rec.text)


@pytest.mark.slow
def test_batched_short_lines_hear_the_words_each_line_hears_alone(tiny_en):
    files = sorted(shared("pocketsphinx_test", "librivox").glob("*.wav")) + [
        shared("pocketsphinx_test", "misc", "goforward.wav")]
    clips = [audio.load_audio(f).samples for f in files]
    alone = [whisper.transcribe(tiny_en, c, "en") for c in clips]
    together = whisper.recognise_many(tiny_en, clips, "en")
    assert len(whisper.pack([len(c) / 16000 for c in clips], whisper.PACK_S)) < len(clips)
    for clip, a, b in zip(clips, alone, together):  # the context of a window may change a word
        assert similar(words(a.text), words(b.text), 0.7), (a.text, b.text)
        assert words(" ".join(w for w, _, _ in b.words)) == words(b.text)
        assert all(0 <= s <= e <= len(clip) / 16000 + 1e-6 for _, s, e in b.words)
    truth = [words(f.with_suffix(".txt").read_text()) for f in files[:-1]] + [["go", "forward", "ten", "meters"]]
    ratio = [difflib.SequenceMatcher(a=t, b=words(r.text)).ratio() for rs in (alone, together) for t, r in zip(truth, rs)]
    assert np.mean(ratio[len(files):]) >= np.mean(ratio[:len(files)]) - 0.02  # packed: no worse than alone
    # words recognised beforehand run through the same alignment as one line's own recognition
    clip = audio.load_audio(files[-1])
    track = phonemes.phone_track(clip, recognition=Recognition(together[-1].text, "en", "tiny.en"))
    assert track.source == "whisper" and words(" ".join(track.words)) == ["go", "forward", "ten", "meters"]


@pytest.mark.slow
def test_spontaneous_english_without_a_transcript_is_lip_synced(tiny_en):
    from talkclip_model.evaluation.lips import overall, score_lips
    from talkclip_model.evaluation.references import read_textgrid

    wav = shared("mfa_test_corpus", "audio", "acoustic_corpus.wav")
    ref = read_textgrid(shared("mfa_test_corpus", "textgrid", "acoustic_corpus.TextGrid"))
    track = Pipeline().generate(wav, GenerateOptions(language="en"))
    assert track.meta["phone_source"] == "whisper"
    assert overall(score_lips(track, ref)) >= 0.9  # PocketSphinx words: 71%


@pytest.mark.slow
def test_the_language_is_detected_and_read_by_espeak(base_model, tmp_path, monkeypatch):
    monkeypatch.delenv(whisper.ENV_MODEL, raising=False)
    wav = tmp_path / "de.wav"  # an mbrola voice: espeak-ng's own German sounds English to Whisper
    if not Path("/usr/share/mbrola/de2").is_dir():
        need_tool("mbrola-de2")  # skips (fails in CI: scripts/setup.sh installs it)
    need_tool("mbrola")
    subprocess.run([need_tool("espeak-ng"), "-v", "mb-de2", "-w", str(wav),
                    "Guten Morgen, mein Freund. Wir müssen sofort zur Burg, bevor die Sonne untergeht."], check=True)
    track = Pipeline().generate(wav, GenerateOptions())
    assert track.meta["language"] == "de" and track.meta["phone_source"] == "whisper"
    assert {"morgen", "burg", "sonne"} <= set(words(track.meta["recognised"]["text"]))
    assert track.meta["recognised"]["model"] == "base"


@pytest.mark.slow
def test_an_english_only_model_refuses_other_languages(tiny_en):
    clip = audio.load_audio(EXAMPLES / "hello.wav")
    with pytest.raises(TalkclipError, match="knows only English, not German"):
        phonemes.phone_track(clip, language="de", recognizer="whisper", whisper_model=str(tiny_en.path))
    assert np.isfinite(clip.duration)


@pytest.mark.slow
def test_the_batch_recognises_its_short_lines_together(tiny_en, monkeypatch):
    pytest.importorskip("bpy")
    from blender_addon import prerecognise
    from blender_addon.jobs import Job

    monkeypatch.delenv(whisper.ENV_MODEL, raising=False)
    files = sorted(shared("pocketsphinx_test", "librivox").glob("*.wav"))[:3]
    jobs = [Job(index=i + 1, name=f.stem, audio=f, language="en") for i, f in enumerate(files)]
    jobs.append(Job(index=9, name="text", audio=files[0], transcript="given", language="en"))
    calls = []
    real = whisper.recognise_many
    monkeypatch.setattr(whisper, "recognise_many", lambda *a: calls.append(len(a[1])) or real(*a))
    assert prerecognise.recognise_jobs(jobs, lambda job: True) == 3
    assert calls == [3] and jobs[-1].recognition is None
    for job, f in zip(jobs, files):
        rec = job.recognition
        assert rec.language == "en" and rec.model == "tiny.en" and rec.words
        assert similar(words(rec.text), words(f.with_suffix(".txt").read_text()), 0.7)


def test_a_manifest_line_names_its_whisper_model(tmp_path):
    pytest.importorskip("bpy")
    from blender_addon.jobs import parse_job

    fake_model(tmp_path / "models" / "mine")
    row = {"blend": "a.blend", "object": "Face", "audio": "a.wav", "output": "a.json"}
    by_name = parse_job(dict(row, whisper_model="tiny.en"), 1, tmp_path)
    by_folder = parse_job(dict(row, whisper_model="models/mine"), 2, tmp_path)
    assert not by_name.error and by_name.whisper_model == "tiny.en" and not by_name.warnings
    assert by_folder.whisper_model == str(tmp_path / "models" / "mine") and by_folder.recognition is None


@pytest.mark.slow
@pytest.mark.bpy
def test_a_headless_batch_of_lines_without_transcripts_packs_them(tiny_en, tmp_path, monkeypatch):
    bpy = pytest.importorskip("bpy")
    import shutil

    from bpy_scenes import build_face, empty_scene

    from blender_addon import batch

    monkeypatch.delenv(whisper.ENV_MODEL, raising=False)
    empty_scene()
    build_face()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "face.blend"), copy=True)
    files = sorted(shared("pocketsphinx_test", "librivox").glob("*.wav"))[:3]
    rows = []
    for i, f in enumerate(files):
        shutil.copy(f, tmp_path / f"line{i}.wav")
        rows.append({"blend": "face.blend", "object": "Face", "audio": f"line{i}.wav", "language": "en",
                     "output": f"out/line{i}.json"})
    (tmp_path / "jobs.json").write_text(json.dumps(rows))
    calls = []
    real = whisper.recognise_many
    monkeypatch.setattr(whisper, "recognise_many", lambda *a: calls.append(len(a[1])) or real(*a))
    assert batch.main([str(tmp_path / "jobs.json"), "--quiet"]) == 0
    assert calls == [3]  # one packed pass for the three lines
    for i, f in enumerate(files):
        meta = json.loads((tmp_path / "out" / f"line{i}.json").read_text())["meta"]
        assert meta["phone_source"] == "whisper" and meta["recognised"]["words"]
        assert similar(words(meta["recognised"]["text"]), words(f.with_suffix(".txt").read_text()), 0.7)


def test_detection_prefers_a_language_the_project_reads():
    notes: list[str] = []
    assert whisper._supported_language([("nn", 0.4), ("sv", 0.3), ("en", 0.1)], notes) == "sv" and not notes
    assert whisper._supported_language([("pt", 0.9)], notes) == "pt-BR"
    assert whisper._supported_language([("zh", 0.9), ("en", 0.05)], notes) is None
    assert notes and "'zh', which is not supported" in notes[0]


def test_a_model_is_loaded_once_when_threads_ask_together(tmp_path, monkeypatch):
    """Two threads asking for one model at once share one load (the add-on's generate thread
    and a batch could both ask)."""
    import threading
    import time
    import types

    made = []

    class SlowModel:
        def __init__(self, path, **kwargs):
            time.sleep(0.2)  # long enough for the other thread to arrive meanwhile
            made.append(path)

    monkeypatch.setitem(sys.modules, "faster_whisper", types.SimpleNamespace(WhisperModel=SlowModel))
    monkeypatch.setattr(whisper, "_MODELS", {})
    (tmp_path / "model.bin").write_bytes(b"0")
    ref = whisper.ModelRef(path=tmp_path, name="fake")
    got = []
    threads = [threading.Thread(target=lambda: got.append(whisper.load(ref, cpu_threads=1))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(made) == 1 and len(got) == 2 and got[0] is got[1]
