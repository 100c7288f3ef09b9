"""Faults and misuse around `talkclip generate`: nothing the user had is lost, nothing
half-written is left, and every refusal is one line naming the input (issue 18)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES

from talkclip_cli.cli import main
from talkclip_model import files

ROOT = Path(__file__).resolve().parents[1]
HELLO = EXAMPLES / "hello.wav"


def _one_line_error(capsys, *names) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("talkclip: error: "), err
    assert all(n in err[0] for n in names), err
    assert "--debug" not in err[0]
    return err[0]


@pytest.mark.parametrize("flag", ["--style-json", "--schedule", "--transcript-file"])
def test_force_never_overwrites_the_commands_own_input(tmp_path, capsys, flag):
    own = tmp_path / "input.json"
    content = {"--style-json": '{"arkit": {"jawOpen": 0.1}}', "--schedule": '[{"time": 1, "prompt": "calm"}]',
               "--transcript-file": "hello there"}[flag]
    own.write_text(content)
    args = ["generate", "--audio", str(HELLO), flag, str(own), "--out", str(tmp_path / "." / "input.json"), "--force"]
    assert main(args) == 2
    _one_line_error(capsys, "input.json", flag)
    assert own.read_text() == content


def test_a_file_that_appears_meanwhile_is_not_replaced(tmp_path, capsys, monkeypatch):
    out = tmp_path / "g.json"
    from talkclip_model.pipeline import Pipeline

    real = Pipeline.generate

    def generate_then_someone_writes(self, *a, **k):
        track = real(self, *a, **k)
        out.write_text("mine")  # another program wrote the name while the take was generated
        return track

    monkeypatch.setattr(Pipeline, "generate", generate_then_someone_writes)
    assert main(["generate", "--audio", str(HELLO), "--transcript-file", str(HELLO.with_suffix(".txt")), "--out", str(out),
                 "--quiet"]) == 2
    _one_line_error(capsys, "g.json")
    assert out.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["g.json"]


@pytest.mark.parametrize("schedule, what", [('[{"time": NaN, "prompt": "calm"}]', "finite"),
                                            ('[{"time": 1e400, "prompt": "calm"}]', "s.json"),
                                            ('[{"time": "soon", "prompt": "calm"}]', "s.json")])
def test_bad_schedule_values_are_one_line(tmp_path, capsys, schedule, what):
    (tmp_path / "s.json").write_text(schedule)
    assert main(["generate", "--audio", str(HELLO), "--schedule", str(tmp_path / "s.json"),
                 "--out", str(tmp_path / "o.json")]) == 2
    _one_line_error(capsys, "s.json", what)


def test_prompt_at_nan_and_endless_transcript(tmp_path, capsys):
    assert main(["generate", "--audio", str(HELLO), "--prompt-at", "nan:calm", "--out", str(tmp_path / "o.json")]) == 2
    _one_line_error(capsys, "--prompt-at")
    assert main(["generate", "--audio", str(HELLO), "--transcript-file", "/dev/zero", "--out", str(tmp_path / "o.json")]) == 2
    _one_line_error(capsys, "/dev/zero")


def test_stale_temporary_files_of_killed_runs_are_removed(tmp_path, recwarn):
    out = tmp_path / "take.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".take.json.{int(dead.stdout)}.abc123.tmp"
    stale.write_text("half a take")
    alive = tmp_path / f".take.json.{os.getpid()}.def456.tmp"  # a writer still running: left alone
    alive.write_text("in progress")
    with files.atomic_output(out, "w") as fh:
        fh.write("{}")
    assert not stale.exists() and alive.exists() and out.read_text() == "{}"
    assert any("left by an interrupted run" in str(w.message) for w in recwarn)


def test_sigterm_removes_the_half_written_file(tmp_path):
    """A scheduler's SIGTERM while the output is being written: exit 143, one line, no
    temporary file, the previous output intact."""
    out = tmp_path / "big.json"
    out.write_text("previous take")
    script = (
        "import sys, time\n"
        "from talkclip_model import files\n"
        "import talkclip_cli.cli as cli\n"
        "def slow_write(args):\n"
        "    with files.atomic_output(args.out, 'w') as fh:\n"
        "        fh.write('partial'); fh.flush(); print('writing', flush=True); time.sleep(30)\n"
        "cli.cmd_generate = slow_write\n"
        "parser = cli.build_parser\n"
        "def build():\n"
        "    p = parser(); p._subparsers._group_actions[0].choices['generate'].set_defaults(func=slow_write); return p\n"
        "cli.build_parser = build\n"
        "sys.exit(cli.main(['generate', '--audio', 'x.wav', '--out', sys.argv[1], '--force']))\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == ["talkclip: error: terminated (SIGTERM); nothing half-written was left"]
    assert out.read_text() == "previous take" and sorted(p.name for p in tmp_path.iterdir()) == ["big.json"]


@pytest.mark.parametrize("flags, name", [(["--encoder", "bogus"], "--encoder 'bogus'"),
                                         (["--intensity", "1e308"], "intensity 1e+308 is out of range")])
def test_implausible_options_are_refused_even_when_unused(tmp_path, capsys, flags, name):
    assert main(["generate", "--audio", str(HELLO), *flags, "--out", str(tmp_path / "o.json")]) == 2
    _one_line_error(capsys, name)
    assert not (tmp_path / "o.json").exists()
