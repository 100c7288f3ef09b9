"""The take plot: a PNG with one panel per layer, eyes, head, phones and style-change markers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack, PhoneTrack

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def real_track():
    """A take built from real speech: nonverbal layers plus a crude jaw from loudness as 'lips'."""
    from test_nonverbal import CORPUS, CORPUS_GRID, dynamics, load_take

    from talkclip_model.animate.nonverbal.layers import nonverbal_layers
    from talkclip_model.arkit import INDEX

    phones, pros = load_take(CORPUS, CORPUS_GRID)
    fps = 30.0
    n = int(round(pros.duration * fps))
    layers = nonverbal_layers(phones, pros, dynamics(n, nod=0.6), fps, n, seed=0)
    lips = np.zeros((n, 52), np.float32)
    level = pros.at(np.arange(n) / fps)
    lips[:, INDEX["jawOpen"]] = np.clip((level - np.percentile(level, 20)) / 20, 0, 0.6)
    arkit = np.clip(lips + layers.eyes + layers.emphasis, 0, 1)
    schedule = [{"time": 0.0, "prompt": "calm"}, {"time": 12.0, "prompt": "nodding eagerly"}]
    return ExpressionTrack(fps=fps, arkit=arkit, head=layers.head, phones=phones,
                           layers={"lips": lips, "eyes": layers.eyes, "emphasis": layers.emphasis},
                           meta={"schedule": schedule, "prompt": "acoustic_corpus"})


def synthetic_track(layers: bool = False) -> ExpressionTrack:
    fps, n = 30.0, 90
    t = np.arange(n) / fps
    arkit = np.zeros((n, 52), np.float32)
    arkit[:, 17] = 0.5 + 0.4 * np.sin(2 * np.pi * t)  # jawOpen
    head = np.stack([0.05 * np.sin(t), 0.1 * np.cos(t), np.zeros(n)], axis=1)
    phones = PhoneTrack.from_list([{"phone": "SIL", "start": 0, "end": 0.5},
                                   {"phone": "AA", "start": 0.5, "end": 2.0},
                                   {"phone": "SIL", "start": 2.0, "end": 3.0}])
    return ExpressionTrack(fps=fps, arkit=arkit, head=head, phones=phones,
                           layers={"lips": arkit} if layers else {})


@pytest.mark.slow  # generates a take and draws it (2 s); test_plots_never_replace_a_file_without_force draws too
def test_plot_real_take_with_layers(real_track, tmp_path):
    from talkclip_cli.plot import plot_track

    out = plot_track(real_track, tmp_path / "take.png")
    width, height = png_size(out)
    assert out.stat().st_size > 20_000
    # lips, eyes, emphasis, eyes summary, head + the phone strip: taller than a 3-panel plot
    plain = plot_track(synthetic_track(), tmp_path / "plain.png")
    assert height > png_size(plain)[1]
    assert width > 1000


def test_plot_channels_and_errors(tmp_path):
    from talkclip_cli.plot import plot_track

    out = plot_track(synthetic_track(), tmp_path / "jaw.png", channels=["jawOpen", "EyeBlinkLeft"])
    assert png_size(out)[0] > 0
    with pytest.raises(TalkclipError, match="not an ARKit"):
        plot_track(synthetic_track(), tmp_path / "x.png", channels=["jawOpenn"])
    with pytest.raises(TalkclipError, match=r"\.png"):
        plot_track(synthetic_track(), tmp_path / "x.jpg")
    with pytest.raises(TalkclipError, match="does not exist"):
        plot_track(synthetic_track(), tmp_path / "missing" / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_cli(tmp_path, capsys):
    from exporters.formats import write_track
    from talkclip_cli.cli import main

    take = tmp_path / "take.json"
    write_track(synthetic_track(layers=True), take)
    out = tmp_path / "take.png"
    assert main(["plot", str(take), "--out", str(out)]) == 0
    assert png_size(out)[0] > 0
    assert main(["plot", str(take), "--out", str(tmp_path / "c.png"), "--channels", "jawOpen,mouthClose"]) == 0
    assert main(["plot", str(take), "--out", str(tmp_path / "bad.png"), "--channels", "nope"]) == 2
    assert main(["plot", str(tmp_path / "absent.json"), "--out", str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("talkclip: error:") for line in err)
    assert "nope" in err[0] and "absent.json" in err[1]


def test_importing_plot_is_cheap():
    code = "import sys, talkclip_cli.plot; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_plots_never_replace_a_file_without_force(tmp_path, capsys, monkeypatch):
    from exporters.formats import write_track
    from talkclip_cli.cli import main

    take = tmp_path / "take.json"
    write_track(synthetic_track(), take)
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"the user's own picture")
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(b"the user's notes")
    assert main(["plot", str(take), "--out", str(mine)]) == 2
    assert main(["style", "calm", "--plot", str(notes)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "mine.png: already exists" in err[0] and "notes.pdf: already exists" in err[1]
    assert mine.read_bytes() == b"the user's own picture" and notes.read_bytes() == b"the user's notes"

    # a file that appears while the plot is drawn is refused at the rename, not replaced
    late = tmp_path / "late.png"
    import matplotlib.figure

    real_savefig = matplotlib.figure.Figure.savefig

    def savefig_and_race(self, fname, *args, **kwargs):
        late.write_bytes(b"appeared meanwhile")
        return real_savefig(self, fname, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig_and_race)
    assert main(["plot", str(take), "--out", str(late)]) == 2
    assert late.read_bytes() == b"appeared meanwhile"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.png", "mine.png", "notes.pdf", "take.json"]
    monkeypatch.undo()

    assert main(["plot", str(take), "--out", str(mine), "--force"]) == 0
    assert main(["style", "calm", "--plot", str(notes), "--force"]) == 0
    assert png_size(mine)[0] > 0 and notes.read_bytes().startswith(b"%PDF")
