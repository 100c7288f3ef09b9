"""The batch's hard stop never loses a finished line: a line that has begun writing its output
holds the stop until its result is reported (``pool.hold_stop``). No bpy needed: the worker side
runs a stand-in line that sends itself the parent's SIGTERM in the middle of writing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

from blender_addon import pool

WORKER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from blender_addon import jobs, pool

    def run_one(job):
        if sys.argv[1] == "hold":
            pool.hold_stop()  # as run_job does just before it writes the output
        os.kill(os.getpid(), signal.SIGTERM)  # the parent's stop at once, while the output is written
        Path(sys.argv[2]).write_text("done")
        return jobs.JobResult(job=job.index, name=job.name, status="ok")

    job = jobs.Job(index=1, name="line01")
    sys.exit(pool.serve([job], run_one))
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is TerminateProcess on Windows")
@pytest.mark.parametrize("hold", [True, False])
def test_a_worker_stopped_while_writing_still_reports_its_line(tmp_path, hold):
    out = tmp_path / "line01.json"
    proc = subprocess.run([sys.executable, "-c", WORKER, "hold" if hold else "no", str(out)], input="1\n",
                          capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, timeout=60)
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == -15, proc.stderr[-2000:]  # the stop still ends the worker ...
    if hold:  # ... but only after the written line was reported
        assert out.read_text() == "done"
        assert answers[-1]["result"]["status"] == "ok"
    else:  # the control: without the hold the line dies unreported (what the CI once caught)
        assert not out.exists() and "result" not in answers[-1]


def test_the_sequential_batch_stops_after_a_held_line():
    stop = pool.StopRequest(raise_at_once=True)
    stop(2, None)  # first Ctrl-C: stop after the line in progress
    pool.hold_stop()
    try:
        stop(2, None)  # second Ctrl-C while the line writes its output: no exception mid-write
        assert stop.now
    finally:
        pool.release_stop()
    with pytest.raises(KeyboardInterrupt):
        stop(2, None)  # not held: at once
