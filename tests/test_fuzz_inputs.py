"""Fuzzing the two readers tests/test_fuzz_readers.py leaves out: audio files (the decoder every
take starts with) and batch manifests (JSON and CSV). Seeds are the bundled example and real
manifests; each case mutates bytes or structure and checks the one-line contract: a result
(finite mono samples; jobs each either runnable or carrying a one-line error) or one
TalkclipError / ManifestError naming the file. Bounded and derandomised, like the readers' fuzz.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import EXAMPLES
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_readers import fuzz

from blender_addon import jobs
from talkclip_model.errors import TalkclipError
from talkclip_model.speech import audio

pytestmark = pytest.mark.slow  # fuzz cases: run by scripts/test.sh --all and .ci/run

MUTATIONS = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "dup", "delete"]),
                               st.floats(0, 1), st.integers(1, 64), st.integers(0, 255)), min_size=1, max_size=4)


def mutate(data: bytes, ops) -> bytes:
    buf = bytearray(data)
    for op, where, size, byte in ops:
        i = int(where * max(len(buf) - 1, 0))
        if op == "flip" and buf:
            buf[i] ^= byte or 1
        elif op == "cut":
            del buf[i:]
        elif op == "insert":
            buf[i:i] = bytes([byte]) * size
        elif op == "dup":
            buf[i:i] = buf[i:i + size]
        elif op == "delete":
            del buf[i:i + size]
    return bytes(buf)


@pytest.fixture(scope="module")
def audio_seeds(tmp_path_factory) -> dict[str, bytes]:
    """A second of the example as WAV (PCM and float), FLAC and Ogg Vorbis."""
    x, rate = sf.read(EXAMPLES / "hello.wav", dtype="float32")
    x = x[: rate]
    out = {}
    for name, kw in {"pcm.wav": dict(subtype="PCM_16"), "float.wav": dict(subtype="FLOAT"),
                     "clip.flac": dict(subtype="PCM_16"), "clip.ogg": dict(format="OGG", subtype="VORBIS")}.items():
        buf = io.BytesIO()
        sf.write(buf, x, rate, format=kw.get("format", name.rsplit(".", 1)[1].upper()), subtype=kw["subtype"])
        out[name] = buf.getvalue()
    return out


@fuzz(120)
@given(name=st.sampled_from(["pcm.wav", "float.wav", "clip.flac", "clip.ogg"]), ops=MUTATIONS)
def test_audio_decoder(audio_seeds, tmp_path_factory, name, ops):
    path = tmp_path_factory.mktemp("audio") / name
    path.write_bytes(mutate(audio_seeds[name], ops))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "looks truncated" is one of the right answers
        try:
            clip = audio.load_audio(path)
        except TalkclipError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc)
            return
    assert clip.samples.ndim == 1 and len(clip.samples) > 0 and np.isfinite(clip.samples).all()


ROW = {"name": "line", "blend": "face.blend", "object": "Face", "audio": "a.wav", "transcript": "hello",
       "prompt": "calm", "profile": "arkit", "start_frame": 1, "output": "out/a.csv", "seed": 3}
WEIRD = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True),
                  st.text(max_size=40), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _check_jobs(path: Path) -> None:
    try:
        parsed = jobs.read_manifest(path)
    except jobs.ManifestError as exc:
        assert str(exc).startswith(str(path.resolve())) or str(exc).startswith(str(path)), exc
        assert "\n" not in str(exc)
        return
    for job in parsed:
        assert job.name.isprintable()
        if job.error is not None:
            assert "\n" not in job.error and job.error.isprintable()
        else:
            assert job.required("blend") and job.required("output")


@fuzz(150)
@given(changes=st.dictionaries(st.sampled_from(sorted(ROW) + ["extra"]), WEIRD, max_size=4),
       rows=st.integers(1, 3))
def test_json_manifest_structure(tmp_path_factory, changes, rows):
    folder = tmp_path_factory.mktemp("manifest")
    path = folder / "jobs.json"
    path.write_text(json.dumps([{**ROW, **changes}] * rows, default=str))
    _check_jobs(path)


@fuzz(150)
@given(kind=st.sampled_from(["jobs.json", "jobs.csv"]), ops=MUTATIONS)
def test_manifest_bytes(tmp_path_factory, kind, ops):
    folder = tmp_path_factory.mktemp("manifest")
    if kind.endswith(".json"):
        seed = json.dumps([ROW, {**ROW, "output": "out/b.csv"}]).encode()
    else:
        keys = list(ROW)
        seed = (",".join(keys) + "\n" + ",".join(str(ROW[k]) for k in keys) + "\n").encode()
    path = folder / kind
    path.write_bytes(mutate(seed, ops))
    _check_jobs(path)
