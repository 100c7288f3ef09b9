"""Generate one take in a child process: ``python -m talkclip_cli.worker``.

Why a process: PocketSphinx holds the GIL for each ~15 s piece of audio, so a worker thread in
Blender freezes the UI for as long and Esc waits for the piece to end. A child process leaves the
UI alone and is stopped at once. Both ends of the protocol live here; neither imports bpy.

Protocol: one JSON request on stdin (one line), JSON lines on stdout:
  request   {"audio": path, "output": path.npz, "fps", "seed", "transcript", "prompt",
             "intensity", "schedule": [[seconds, prompt], ...], "encoder", "providers", "language",
             "recognizer", "whisper_model", "recognition": {"text", "language", "model", "words"}}
  progress  {"stage": "phonemes", "fraction": 0.42}  (fraction of the whole take, non-decreasing)
  last      {"done": output path} (exit 0) or {"error": "one line"} (exit 1)
The track is written with exporters.formats' NPZ writer (atomic: a killed worker leaves none).
Progress fractions come from ``talkclip_model.pipeline.overall_fraction``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from exporters.formats import read_track, write_track
from talkclip_model.errors import TalkclipError, one_line
from talkclip_model.pipeline import (
    STAGE_SPANS,
    STAGES,
    GenerateOptions,
    Pipeline,
    overall_fraction,
)
from talkclip_model.types import Recognition

REQUEST_KEYS = ("fps", "seed", "transcript", "prompt", "intensity", "schedule", "language", "recognizer",
                "whisper_model", "recognition")


def overall(stage: str, fraction: float) -> tuple[str, float]:
    """(stage shown, fraction of the take) for a pipeline progress report. A finished stage is
    shown as the next one: stages run back to back, and the next may not report for a while
    (recognition reports only at the end of each piece of audio)."""
    if stage not in STAGE_SPANS:
        return stage, 0.0
    fraction = min(max(float(fraction), 0.0), 1.0)
    i = STAGES.index(stage)
    if fraction >= 1.0 and i + 1 < len(STAGES):
        return STAGES[i + 1], STAGE_SPANS[stage][1]
    return stage, overall_fraction(stage, fraction)


# --- child side ---------------------------------------------------------------------------

def generate(request: dict, progress=None) -> Path:
    """Run the pipeline for a request and write the track to ``request["output"]`` (an .npz: the
    one layout the parent reads back)."""
    missing = [k for k in ("audio", "output") if not request.get(k)]
    if missing:
        raise TalkclipError(f"worker request has no {', '.join(missing)}")
    fields = {k: request[k] for k in REQUEST_KEYS if request.get(k) is not None}
    fields["schedule"] = [(float(t), str(p)) for t, p in fields.get("schedule", ())]
    if "recognition" in fields:  # words recognised beforehand (a batch of short lines)
        try:
            fields["recognition"] = Recognition.from_dict(fields["recognition"])
        except (ValueError, AttributeError) as exc:
            raise TalkclipError(f"worker request: 'recognition' is {exc}") from None
    options = GenerateOptions(**fields)
    pipeline = Pipeline(encoder=request.get("encoder"), providers=request.get("providers"))
    track = pipeline.generate(request["audio"], options, progress=progress)
    return write_track(track, request["output"])


def _exit_with_parent() -> None:
    """End this process when its parent dies (Blender crashed or was killed), instead of
    finishing a take nobody will read. POSIX only: elsewhere getppid never changes."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="talkclip-parent-watch").start()


def main() -> int:
    # JSON lines get their own copy of stdout; anything a library prints goes to stderr.
    stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _exit_with_parent()

    def emit(**message) -> None:
        stdout.write(json.dumps(message) + "\n")
        stdout.flush()

    def progress(stage: str, fraction: float) -> None:
        shown, done = overall(stage, fraction)
        emit(stage=shown, fraction=round(done, 4))

    try:
        request = json.loads(sys.stdin.readline() or "null")
        if not isinstance(request, dict):
            raise ValueError("expected one JSON object on stdin")
        emit(done=str(generate(request, progress)))
        return 0
    except Exception as exc:
        emit(error=one_line(exc))
        return 1


# --- parent side --------------------------------------------------------------------------

def child_env(extra: dict | None = None) -> dict:
    """The environment for a worker: this process's, with PYTHONPATH set to the folders on our
    own sys.path, so the child imports exactly the modules we would (an extension's
    site-packages included), and the user site left out where we leave it out (Blender does)."""
    env = dict(os.environ, **(extra or {}))
    folders = [os.path.abspath(p or os.curdir) for p in sys.path]
    env["PYTHONPATH"] = os.pathsep.join(p for p in folders if os.path.exists(p))
    if sys.flags.no_user_site:
        env["PYTHONNOUSERSITE"] = "1"
    return env


class WorkerProcess:
    """One take generated by a worker process. ``stage``/``fraction`` follow its progress;
    ``poll()`` says when it has ended; ``result()`` reads the track (call it once, then ``close()``).
    A reader thread takes the JSON lines: its blocking reads release the GIL."""

    CANCEL_GRACE = 0.5  # seconds between terminate and kill

    def __init__(self, request: dict, python: str, env: dict | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="talkclip-"))
        self.output = self.folder / "take.npz"
        self.log_path = self.folder / "worker.log"
        self.stage, self.fraction = "starting", 0.0
        self.error: str | None = None
        self._done: str | None = None
        try:
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [python, "-m", "talkclip_cli.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=log, env=env if env is not None else child_env(), text=True, encoding="utf-8",
                    cwd=self.folder)  # `-m` puts the cwd first on sys.path: not the user's folder
        except OSError:
            self.close()
            raise
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both are PIPEs
        try:
            with self.proc.stdin:
                self.proc.stdin.write(json.dumps({**request, "output": str(self.output)}) + "\n")
        except BrokenPipeError:  # it died on start: the reader reports its log
            pass
        self._reader = threading.Thread(target=self._read, daemon=True, name="talkclip-worker-reader")
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None  # a PIPE
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "stage" in message:
                self.stage, self.fraction = message["stage"], float(message["fraction"])
            elif "done" in message:
                self._done = message["done"]
            elif "error" in message:
                self.error = message["error"]
        self.proc.stdout.close()
        code = self.proc.wait()
        if self.error is None and self._done is None:
            self.error = f"the worker process stopped (exit code {code}): {self._last_log_line()}"

    def _last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").split("\n")
        except OSError:
            return "no log"
        return next((ln.strip() for ln in reversed(lines) if ln.strip()), "no output")

    def poll(self) -> bool:
        """Whether the worker has ended (done or failed)."""
        return not self._reader.is_alive()

    def result(self):
        """The generated ExpressionTrack (main thread, after poll() is True)."""
        if self.error is not None:
            raise TalkclipError(self.error)
        return read_track(self._done)

    def cancel(self) -> None:
        """Stop the worker now: terminate, kill if it has not ended within CANCEL_GRACE."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(self.CANCEL_GRACE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.close()

    def close(self) -> None:
        """Remove the temporary folder (track and log)."""
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
