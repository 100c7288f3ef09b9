"""The worker process (``python -m talkclip_cli.worker``) on real audio: its JSON progress lines,
the track it writes, one-line errors, and that a killed worker leaves nothing; then the parent
side (WorkerProcess) that Blender's Generate uses: poll to the end, cancel within a second."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT

from exporters.formats import read_track
from talkclip_cli import worker
from talkclip_cli.worker import WorkerProcess, overall
from talkclip_model.pipeline import STAGE_SPANS, STAGES, overall_fraction

STAGE_ORDER = list(STAGES)
TRANSCRIPT = (EXAMPLES / "hello.txt").read_text(encoding="utf-8")


def worker_command(**kwargs) -> dict:
    return dict(args=[sys.executable, "-m", "talkclip_cli.worker"], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, cwd=ROOT, env=worker.child_env(), **kwargs)


def run_worker(request: dict | str) -> subprocess.CompletedProcess:
    text = request if isinstance(request, str) else json.dumps(request)
    return subprocess.run(**worker_command(input=text + "\n", timeout=120))


def lines_of(proc: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory):
    """hello.wav six times over (37 s): recognition without a transcript takes several seconds."""
    import soundfile as sf

    samples, rate = sf.read(EXAMPLES / "hello.wav", dtype="int16")
    path = tmp_path_factory.mktemp("audio") / "long.wav"
    sf.write(path, np.concatenate([samples] * 6), rate)
    return path


def test_overall_progress_names_the_stage_in_progress():
    assert overall("audio", 0.0) == ("audio", 0.0)
    assert overall("audio", 1.0) == ("phonemes", 0.1)  # recognition may not report for seconds
    assert overall("phonemes", 0.5) == ("phonemes", pytest.approx(0.45))
    assert overall("decode", 1.0) == ("decode", 1.0)
    assert overall("phonemes", 7) == ("style", 0.8)
    assert overall("loading", 0.5) == ("loading", 0.0)  # not a pipeline stage


def test_stage_spans_cover_the_take_in_order():
    ends = [STAGE_SPANS[s] for s in STAGES]
    assert ends[0][0] == 0.0 and ends[-1][1] == 1.0
    assert all(a[1] == b[0] for a, b in zip(ends, ends[1:]))  # back to back, no gaps
    assert overall_fraction("phonemes", 0.5) == pytest.approx(0.45)
    assert overall_fraction("style", 2.0) == 0.85 and overall_fraction("audio", -1) == 0.0


def test_worker_reports_stages_in_order_and_writes_the_track(tmp_path):
    out = tmp_path / "take.npz"
    proc = run_worker({"audio": str(EXAMPLES / "hello.wav"), "output": str(out), "transcript": TRANSCRIPT,
                       "prompt": "calm", "fps": 24, "schedule": [[2.0, "furious"]]})
    assert proc.returncode == 0, proc.stderr
    lines = lines_of(proc)
    assert lines[-1] == {"done": str(out)}
    ticks = lines[:-1]
    assert ticks and all(set(t) == {"stage", "fraction"} for t in ticks)
    order = [STAGE_ORDER.index(t["stage"]) for t in ticks]
    assert order == sorted(order) and order[0] == 0 and order[-1] == len(STAGE_ORDER) - 1
    fractions = [t["fraction"] for t in ticks]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    track = read_track(out)
    assert track.num_frames > 100 and track.arkit.shape[1] == 52 and track.fps == 24
    assert track.phones is not None and len(track.phones) > 10 and track.layers
    assert track.meta["prompt"] == "calm" and track.meta["schedule"][0]["prompt"] == "furious"


@pytest.mark.parametrize("request_text,message", [
    ("missing", "audio file not found"),
    ("{not json", "JSONDecodeError"),
    ('{"output": "x.npz"}', "worker request has no audio"),
])
def test_worker_errors_are_one_line(tmp_path, request_text, message):
    out = tmp_path / "take.npz"
    if request_text == "missing":
        request_text = json.dumps({"audio": str(tmp_path / "nope.wav"), "output": str(out)})
    proc = run_worker(request_text)
    assert proc.returncode == 1
    last = lines_of(proc)[-1]
    assert set(last) == {"error"} and message in last["error"] and "\n" not in last["error"]
    assert "Traceback" not in proc.stderr and not out.exists()


def test_killed_worker_leaves_no_output(tmp_path, long_wav):
    out = tmp_path / "take.npz"
    proc = subprocess.Popen(**worker_command(stdin=subprocess.PIPE))
    with proc.stdin:
        proc.stdin.write(json.dumps({"audio": str(long_wav), "output": str(out)}) + "\n")
    for line in proc.stdout:  # wait until recognition runs
        if json.loads(line)["stage"] == "phonemes":
            break
    time.sleep(0.3)
    t0 = time.perf_counter()
    proc.kill()
    proc.wait(5)
    assert time.perf_counter() - t0 < 1.0
    proc.stdout.close()
    proc.stderr.close()
    assert list(tmp_path.iterdir()) == []


def test_worker_process_runs_to_the_end_and_cleans_up():
    job = WorkerProcess({"audio": str(EXAMPLES / "hello.wav"), "transcript": TRANSCRIPT, "fps": 30},
                        sys.executable)
    seen = set()
    deadline = time.monotonic() + 120
    while not job.poll():
        seen.add(job.stage)
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert job.error is None and job.fraction == 1.0 and job.stage == "decode"
    track = job.result()
    assert track.num_frames > 100 and track.arkit.shape == (track.num_frames, 52)
    job.close()
    assert not job.folder.exists()


def test_worker_process_cancels_within_a_second(long_wav):
    job = WorkerProcess({"audio": str(long_wav)}, sys.executable)
    deadline = time.monotonic() + 60
    while job.stage != "phonemes":
        assert time.monotonic() < deadline and not job.poll(), job.error
        time.sleep(0.02)
    time.sleep(0.5)  # inside PocketSphinx, holding the child's GIL
    t0 = time.perf_counter()
    job.cancel()
    latency = time.perf_counter() - t0
    assert latency < 1.0
    assert job.proc.returncode is not None and not job.folder.exists()
    print(f"cancel latency {latency * 1000:.0f} ms")


def test_worker_that_dies_without_a_line_reports_its_log(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'Fatal Python error: cannot start' >&2\nexit 3\n")
    os.chmod(fake, 0o755)
    job = WorkerProcess({"audio": "x.wav"}, str(fake))
    deadline = time.monotonic() + 10
    while not job.poll():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert job.error == "the worker process stopped (exit code 3): Fatal Python error: cannot start"
    with pytest.raises(Exception, match="exit code 3"):
        job.result()
    job.close()


def test_every_request_field_the_panel_sends_reaches_the_pipeline(tmp_path, monkeypatch):
    """take.worker_request's fields (language included) arrive in GenerateOptions."""
    from talkclip_cli import worker
    from talkclip_model.pipeline import Pipeline

    seen = {}

    def capture(self, audio, options, progress=None):
        seen["options"] = options
        raise RuntimeError("stop here")

    monkeypatch.setattr(Pipeline, "generate", capture)
    request = {"audio": str(EXAMPLES / "hello.wav"), "output": str(tmp_path / "t.npz"), "fps": 24.0, "seed": 7,
               "transcript": "hello", "prompt": "calm", "intensity": 0.5, "schedule": [[1.0, "happy"]], "language": "de"}
    with pytest.raises(RuntimeError, match="stop here"):
        worker.generate(request)
    opts = seen["options"]
    assert (opts.fps, opts.seed, opts.transcript, opts.prompt, opts.intensity, opts.language) == \
        (24.0, 7, "hello", "calm", 0.5, "de")
    assert list(opts.schedule) == [(1.0, "happy")]
