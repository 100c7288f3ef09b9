"""Worker processes for ``batch --workers N``: the lines of a manifest spread over N processes,
each loading the models once and running lines one at a time with the same ``run_job`` as the
sequential batch; the parent writes the report (manifest order) after every finished line.

Why processes we start ourselves, not ``multiprocessing``: the bpy module and a real Blender need
different workers. With the bpy module a worker is this interpreter again
(``python -m blender_addon.batch MANIFEST --worker``); inside Blender, ``sys.executable`` is
Blender's bundled Python, which cannot import bpy, so a worker is Blender itself
(``blender -b --command talkclip batch MANIFEST --worker``). A pool that forks or spawns
interpreters fits neither everywhere, and a dead worker breaks a ``ProcessPoolExecutor`` for every
line in flight without saying which line killed it. Here each worker runs one line at a time, so
a worker that dies (a crash in Blender, the OOM killer) fails exactly the line it was running,
and a new worker takes the rest.

The protocol is one line of text each way: the parent writes a line number on the worker's stdin;
the worker answers on its stdout with one JSON object (``{"ready": true}`` once, then
``{"result": {...}}`` per line). The worker moves its own file descriptor 1 to stderr first, so
whatever Blender prints (``Read blend: ...``) never mixes with the answers. Workers run in a
process group of their own, so Ctrl-C (or a farm's SIGTERM) reaches the parent only
(``StopRequest``): the first gives no new lines out and waits for the lines in progress, the
second ends the workers at once (their lines stay ``pending``; outputs are renamed into place
only when complete, so a half-written one is a hidden temporary file at most, and a line that
has begun writing its output holds the stop until its result is reported: ``hold_stop``). A
worker whose stdin closes (the parent is gone) finishes its line and exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

from .jobs import Job, JobResult

STOP_WAIT_S = 10.0  # a worker asked to stop gets this long before it is killed
POLL_S = 0.2  # the parent wakes this often, and so sees a stop request within this


class StopRequest:
    """What Ctrl-C and SIGTERM (a farm cancelling a task) do while a batch runs: the first asks it
    to stop after the lines in progress (their outputs and report entries complete, the rest left
    pending); the second stops it at once. Only a flag is set where the signal lands, because an
    exception raised there can be swallowed (Blender prints and ignores one raised inside its own
    handlers, e.g. while a .blend loads) or leave the threading module's locks in a bad state."""

    def __init__(self, raise_at_once: bool):
        self.asked = self.now = False
        self.raise_at_once = raise_at_once  # the sequential batch has no loop waiting to look at `now`

    def __call__(self, signum, frame) -> None:
        if self.asked:
            self.now = True
            if self.raise_at_once and not _Hold.held:  # held: the loop stops once the line is reported
                raise KeyboardInterrupt
            return
        self.asked = True
        print("talkclip batch: stopping after the lines in progress (Ctrl-C again to stop at once)",
              file=sys.stderr, flush=True)


class _Hold:
    worker = False  # this process is a pool worker, whose stop at once is the parent's SIGTERM
    held = False  # a line is writing its output
    stopped = False  # a SIGTERM came meanwhile


def _end_worker(signum, frame) -> None:
    """A worker's SIGTERM: it ends now, or as soon as the line being written is reported. (Python
    runs this in the main thread whichever thread the signal reached; blocking the signal would
    not do, since Blender's other threads would take it.)"""
    if _Hold.held:
        _Hold.stopped = True
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)  # ends as the parent asked: "killed by SIGTERM"


def hold_stop() -> None:
    """A line is about to write its output: a stop at once waits until the line's result is
    reported (``release_stop``), so an output on disk is never missing from the report."""
    _Hold.held = True


def release_stop() -> None:
    """The line's result is reported: a stop held meanwhile happens now."""
    _Hold.held = False
    if _Hold.worker and _Hold.stopped:
        _end_worker(signal.SIGTERM, None)


@contextlib.contextmanager
def stop_signals(stop: StopRequest):
    """Route SIGINT and SIGTERM to ``stop`` meanwhile (main thread only; elsewhere nothing changes)."""
    previous = {}
    for name in ("SIGINT", "SIGTERM"):
        with contextlib.suppress(ValueError, AttributeError, OSError):
            previous[name] = signal.signal(getattr(signal, name), stop)
    try:
        yield stop
    finally:
        for name, handler in previous.items():
            # None: a handler not set from Python (Blender's own); the default is the nearest
            signal.signal(getattr(signal, name), handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def json_stdout(enabled: bool):
    """With ``--progress json`` stdout carries the JSON lines only: whatever else writes to file
    descriptor 1 meanwhile (Blender's ``Read blend: ...``) goes to stderr."""
    if not enabled:
        yield sys.stdout
        return
    sys.stdout.flush()
    saved = os.dup(1)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        yield out
    finally:
        sys.stdout.flush()
        out.close()
        os.dup2(saved, 1)
        os.close(saved)


def serve(jobs: Iterable[Job], run_one: Callable[[Job], JobResult]) -> int:
    """The worker's side: run the lines the parent names, one at a time, until stdin closes."""
    by_index = {job.index: job for job in jobs}
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # Blender's own prints (and print()) go to stderr from here on
    with contextlib.suppress(ValueError, AttributeError):  # not in the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop (SIGTERM: at once)
        signal.signal(signal.SIGTERM, _end_worker)
        _Hold.worker = True

    def answer(message: dict) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    try:
        answer({"ready": True, "pid": os.getpid()})
        for line in sys.stdin:
            job = by_index.get(int(line.strip() or 0))
            if job is None:
                answer({"error": f"no line {line.strip()!r} in this manifest"})
                continue
            answer({"result": asdict(run_one(job))})
            release_stop()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the parent is gone
        return 1
    return 0


def exit_reason(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


@dataclass
class _Worker:
    wid: int
    proc: subprocess.Popen
    ready: bool = False
    job: Job | None = None
    reader: threading.Thread | None = field(default=None, repr=False)


class Pool:
    """The parent's side: ``run(jobs)`` calls ``on_result`` (in this thread) for every line as it
    finishes, in any order. ``command`` starts one worker; ``failed(job, error)`` makes the result
    of a line whose worker died."""

    def __init__(self, command: list[str], size: int, on_result: Callable[[JobResult], None],
                 failed: Callable[[Job, str], JobResult]):
        self.command, self.size, self.on_result, self.failed = command, size, on_result, failed
        self.events: queue.Queue = queue.Queue()
        self.workers: dict[int, _Worker] = {}
        self.pending: deque[Job] = deque()
        self.next_id = 0
        self.start_failures = 0

    def run(self, jobs: list[Job], stop: StopRequest) -> None:
        self.pending.extend(jobs)
        try:
            for _ in range(min(self.size, len(self.pending))):
                self._start()
            while self.pending or any(w.job is not None for w in self.workers.values()):
                if stop.now:
                    raise KeyboardInterrupt
                if stop.asked and self.pending:  # no new lines; the workers finish theirs
                    self.pending.clear()
                    for worker in self.workers.values():
                        if worker.job is None:
                            self._assign(worker)  # closes its stdin: it exits
                if not self.workers:  # every worker failed to start: nothing can run the rest
                    break
                try:
                    wid, message = self.events.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                self._handle(wid, message)
        except BaseException:  # stopped at once: the workers are ended, their lines stay pending
            self._stop(interrupted=True)
            raise
        self._stop(interrupted=False)

    def _start(self) -> None:
        self.next_id += 1
        kwargs: dict = {"start_new_session": True} if os.name == "posix" else \
            {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
        proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                encoding="utf-8", bufsize=1, **kwargs)
        worker = _Worker(self.next_id, proc)
        worker.reader = threading.Thread(target=self._read, args=(worker,), daemon=True)
        worker.reader.start()
        self.workers[worker.wid] = worker

    def _read(self, worker: _Worker) -> None:
        assert worker.proc.stdout is not None
        for line in worker.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                message = {"noise": line}
            self.events.put((worker.wid, message))
        self.events.put((worker.wid, None))

    def _handle(self, wid: int, message: dict | None) -> None:
        worker = self.workers.get(wid)
        if worker is None:
            return
        if message is None:
            self._ended(worker)
        elif message.get("ready"):
            worker.ready = True
            self.start_failures = 0
            self._assign(worker)
        elif "result" in message and worker.job is not None:
            worker.job = None
            self.on_result(JobResult(**message["result"]))
            self._assign(worker)
        elif "noise" in message:
            print(message["noise"], end="", file=sys.stderr)
        elif "error" in message and worker.job is not None:  # it cannot run the line (a changed manifest)
            job, worker.job = worker.job, None
            self.on_result(self.failed(job, f"worker process: {message['error']}"))
            self._assign(worker)

    def _assign(self, worker: _Worker) -> None:
        assert worker.proc.stdin is not None
        if not self.pending:
            with contextlib.suppress(OSError):
                worker.proc.stdin.close()  # nothing left: the worker exits
            return
        job = self.pending.popleft()
        try:
            worker.proc.stdin.write(f"{job.index}\n")
            worker.proc.stdin.flush()
            worker.job = job
        except OSError:  # it died just now: the line goes back, the end of its output says why
            self.pending.appendleft(job)

    def _ended(self, worker: _Worker) -> None:
        code = worker.proc.wait()
        del self.workers[worker.wid]
        if worker.job is not None:
            self.on_result(self.failed(worker.job, f"worker process {exit_reason(code)} while running this line"))
        if not worker.ready:
            self.start_failures += 1
        if self.start_failures > self.size:  # workers die before they can take a line
            reason = f"no worker process could start ({exit_reason(code)}; see the messages above)"
            while self.pending:
                self.on_result(self.failed(self.pending.popleft(), reason))
        if self.pending and len(self.workers) < self.size:
            self._start()

    def _stop(self, interrupted: bool) -> None:
        for worker in self.workers.values():
            with contextlib.suppress(OSError):
                if worker.proc.stdin:
                    worker.proc.stdin.close()
            if interrupted and worker.proc.poll() is None:
                worker.proc.terminate()
        deadline = time.monotonic() + (STOP_WAIT_S if interrupted else 60.0)  # idle workers exit at once
        for worker in self.workers.values():
            try:
                worker.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
        if interrupted:
            self._drain()
        self.workers.clear()

    def _drain(self) -> None:
        """Results the stopped workers sent before they stopped: those lines are done."""
        for stopped in self.workers.values():
            if stopped.reader is not None:
                stopped.reader.join(timeout=2.0)
        while True:
            try:
                wid, message = self.events.get_nowait()
            except queue.Empty:
                return
            worker = self.workers.get(wid)
            if worker is not None and worker.job is not None and message and "result" in message:
                worker.job = None
                self.on_result(JobResult(**message["result"]))
