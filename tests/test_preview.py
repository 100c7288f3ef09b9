"""``talkclip preview``: the ARKit -> THA3 pose mapping, frame sampling, the three outputs, the
one-line errors, and (slow) real THA3 renders on a tha3 sample image and ONNX/torch parity."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES
from helpers import constant_track
from PIL import Image

from exporters.formats import read_track, write_track
from exporters.preview import (
    FRAME_NAME,
    check_preview_output,
    frame_range,
    output_kind,
    plan_preview,
    render_take,
    sample_track,
    write_preview,
)
from exporters.video import ffmpeg_exe
from talkclip_cli import preview as preview_cli
from talkclip_cli.cli import main
from talkclip_model.arkit import INDEX
from talkclip_model.errors import TalkclipError
from talkclip_model.render.base import Renderer
from talkclip_model.render.tha3_files import HEAD_BOX, sample_image
from talkclip_model.render.tha3_pose import NUM_POSE, P, arkit_to_pose, vowel_mix
from talkclip_model.types import ExpressionTrack

MOUTH = (slice(150, 200), slice(224, 288))  # crypko_00's mouth, rows then columns


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(map(str, argv)))
    out = capsys.readouterr()
    return rc, out.out, out.err


class FakeRenderer:
    """A tiny renderer for the writers' tests: the frame's grey level is its jawOpen."""

    name = "fake"
    size = (32, 32)

    def load_image(self, path):
        return np.zeros(1)

    def render(self, image, arkit, head):
        frame = np.zeros((32, 32, 4), np.uint8)
        frame[..., :3] = int(round(255 * float(arkit[INDEX["jawOpen"]])))
        frame[..., 3] = 255
        return frame


def ramp_take(n: int = 60, fps: float = 30.0) -> ExpressionTrack:
    arkit = np.zeros((n, 52), np.float32)
    arkit[:, INDEX["jawOpen"]] = np.arange(n) / (n - 1)
    return ExpressionTrack(fps=fps, arkit=arkit, head=np.zeros((n, 3)), meta={})


def character(tmp_path, size=(512, 512), mode="RGBA", head=True, background=0) -> str:
    a = np.zeros((size[1], size[0], 4), np.uint8)
    a[..., 3] = background
    if head:
        left, top, right, bottom = HEAD_BOX
        a[top:bottom + 200, left:right, :] = 200
    path = tmp_path / "char.png"
    Image.fromarray(a, "RGBA").convert(mode).save(path)
    return str(path)


# --- the pose mapping --------------------------------------------------------------------

def test_pose_mapping_mouth_follows_the_jaw_and_head_keeps_the_converters_signs():
    a = np.zeros((3, 52), np.float32)
    a[1, [INDEX["jawOpen"], INDEX["mouthLowerDownLeft"], INDEX["mouthLowerDownRight"]]] = [0.4, 0.5, 0.5]
    a[2, INDEX["jawOpen"]] = 0.05  # below the converter's 0.1 threshold: closed
    head = np.array([[0.0, 0.0, 0.0], [np.radians(7.5), np.radians(-30), 0.0], [0, 0, np.radians(-7.5)]])
    pose = arkit_to_pose(a, head)
    assert pose.shape == (3, NUM_POSE) and pose.dtype == np.float32
    assert not pose[0].any() and pose[2, P["mouth_aaa"]] == 0
    assert pose[1, P["mouth_aaa"]] > 0.5
    assert pose[1, P["head_x"]] == pytest.approx(-0.5) and pose[1, P["head_y"]] == pytest.approx(1.0)
    assert pose[2, P["neck_z"]] == pytest.approx(-0.5) and not pose[:, P["body_y"]].any()


def test_vowel_mix_recovers_pure_vowels():
    pure = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    w = vowel_mix(pure)
    assert w[0].argmax() == 0 and w[1].argmax() == 1 and w.min() >= 0 and w.max() <= 1


def test_blink_and_smile():
    pose = arkit_to_pose(constant_track({"eyeBlinkLeft": 0.8, "mouthSmileLeft": 1, "mouthSmileRight": 1}, n=1).arkit,
                         np.zeros((1, 3)))[0]
    assert pose[P["eye_happy_wink_left"]] == pytest.approx(1) and pose[P["eye_wink_left"]] == 0
    assert pose[P["mouth_raised_corner_left"]] == pytest.approx(1)


# --- frames and sampling -----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [(None, (0, 60)), ("0:60", (0, 60)), ("30:", (30, 60)), (":12", (0, 12)),
                                            (" 5 : 9 ", (5, 9))])
def test_frame_range(text, expected):
    assert frame_range(text, 60) == expected


@pytest.mark.parametrize("text, words", [("abc", "expected A:B"), ("9:3", "greater"), ("0:61", "60 frames"),
                                         ("-1:5", "expected A:B"), ("4:4", "greater")])
def test_bad_frames_are_one_line(text, words, tmp_path, capsys):
    with pytest.raises(TalkclipError, match=words):
        frame_range(text, 60)
    write_track(ramp_take(), tmp_path / "take.json")
    rc, _, err = run(capsys, "preview", tmp_path / "take.json", "--image", character(tmp_path), "--out", f"{tmp_path}/f/",
                     f"--frames={text}")
    assert rc != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_frames_are_sampled_at_the_preview_rate_from_frame_a():
    take = ramp_take(60, 30.0)
    plan = plan_preview(take, 5, "30:60")
    assert plan.times == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8])
    arkit, _ = sample_track(take, plan.times)
    assert arkit[:, INDEX["jawOpen"]] == pytest.approx(np.array([30, 36, 42, 48, 54]) / 59, abs=1e-6)
    assert len(plan_preview(take, 10, None).times) == 20 and len(plan_preview(take, 7, "0:1").times) == 1
    with pytest.raises(TalkclipError, match="--fps"):
        plan_preview(take, 0, None)


def test_png_frames_are_numbered_at_the_preview_rate(tmp_path):
    take = ramp_take()
    plan = plan_preview(take, 5, "0:60")
    out = tmp_path / "frames"
    assert write_preview(render_take(take, FakeRenderer(), np.zeros(1), plan), f"{out}/", plan, (32, 32)) == 10
    assert sorted(p.name for p in out.iterdir()) == [FRAME_NAME.format(i) for i in range(10)]
    assert FRAME_NAME.format(0) == "frame_00000.png"
    grey = [int(np.asarray(Image.open(out / FRAME_NAME.format(i)))[0, 0, 0]) for i in range(10)]
    assert grey == sorted(grey) and grey[0] == 0
    with pytest.raises(TalkclipError, match="--force"):
        check_preview_output(f"{out}/", 10, overwrite=False)
    plan2 = plan_preview(take, 5, "0:30")  # a shorter preview with --force leaves no stale frames
    write_preview(render_take(take, FakeRenderer(), np.zeros(1), plan2), f"{out}/", plan2, (32, 32), overwrite=True)
    assert len(list(out.iterdir())) == 5


def test_contact_sheet(tmp_path):
    take = ramp_take()
    plan = plan_preview(take, 3, None)  # 6 frames -> 3 x 2 cells of 256 px
    out = tmp_path / "sheet.png"
    assert write_preview(render_take(take, FakeRenderer(), np.zeros(1), plan), out, plan, (32, 32)) == 6
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (512, 768, 3)
    assert sheet[10, 10, 0] < sheet[266, 522, 0]  # first cell darker than the last
    with pytest.raises(TalkclipError, match="already exists"):
        check_preview_output(out, 6, overwrite=False)
    with pytest.raises(TalkclipError, match="at most 100 frames"):
        check_preview_output(tmp_path / "big.png", 101, overwrite=False)


def test_mp4_muxes_the_takes_audio(tmp_path, capsys, monkeypatch):
    take = ramp_take(60, 30.0)
    take = ExpressionTrack(fps=take.fps, arkit=take.arkit, head=take.head, meta={"audio": str(EXAMPLES / "hello.wav")})
    write_track(take, tmp_path / "take.json")
    monkeypatch.setattr(preview_cli, "Tha3Renderer", lambda providers, folder: FakeRenderer())
    monkeypatch.setattr(preview_cli, "ensure_export", lambda: tmp_path)
    img = character(tmp_path)
    rc, _, err = run(capsys, "preview", tmp_path / "take.json", "--image", img, "--out", tmp_path / "p.mp4", "--fps", 10)
    assert rc == 0, err
    probe = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "p.mp4")], capture_output=True, text=True)
    assert "Video: h264" in probe.stderr and "Audio: aac" in probe.stderr
    assert "Duration: 00:00:02.0" in probe.stderr  # 20 frames at 10 fps; the audio cut to the same 2 s
    rc, _, err = run(capsys, "preview", tmp_path / "take.json", "--image", img, "--out", tmp_path / "p.mp4")
    assert rc != 0 and "--force" in err
    rc, _, err = run(capsys, "preview", tmp_path / "take.json", "--image", img, "--out", tmp_path / "q.mp4",
                     "--audio", tmp_path / "missing.wav")
    assert rc != 0 and "missing.wav" in err and not (tmp_path / "q.mp4").exists()


# --- one-line errors ---------------------------------------------------------------------

@pytest.mark.parametrize("kw, words", [({"size": (256, 256)}, "256x256, THA3 needs 512x512"),
                                       ({"mode": "RGB"}, "no transparency"),
                                       ({"background": 255}, "background is not transparent"),
                                       ({"head": False}, "no head in the box")])
def test_image_that_does_not_fit_the_layout(kw, words, tmp_path, capsys):
    write_track(ramp_take(), tmp_path / "take.json")
    rc, _, err = run(capsys, "preview", tmp_path / "take.json", "--image", character(tmp_path, **kw), "--out", f"{tmp_path}/f/")
    assert rc != 0 and words in err and "prepare a 512x512 PNG" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "f").exists()


def test_unreadable_take_and_image(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{nope", encoding="utf-8")
    rc, _, err = run(capsys, "preview", tmp_path / "bad.json", "--image", character(tmp_path), "--out", f"{tmp_path}/f/")
    assert rc != 0 and "bad.json" in err and len(err.strip().splitlines()) == 1
    write_track(ramp_take(), tmp_path / "take.json")
    (tmp_path / "x.png").write_bytes(b"not a png")
    rc, _, err = run(capsys, "preview", tmp_path / "take.json", "--image", tmp_path / "x.png", "--out", f"{tmp_path}/f/")
    assert rc != 0 and "cannot read image" in err
    rc, _, err = run(capsys, "preview", tmp_path / "take.json", "--image", character(tmp_path), "--out", tmp_path / "f.gif")
    assert rc != 0 and "--out must be a folder" in err
    assert output_kind(tmp_path / "frames") == output_kind(f"{tmp_path}/new/") == "frames"
    assert output_kind("a.PNG") == "sheet" and output_kind("a.mp4") == "mp4"


def test_force_never_overwrites_an_input(tmp_path, capsys):
    write_track(ramp_take(), tmp_path / "take.json")
    image = Path(character(tmp_path))
    before = image.read_bytes()
    rc, _, err = run(capsys, "preview", tmp_path / "take.json", "--image", image, "--out", image, "--force")
    assert rc == 2 and "is an input of this command (--image)" in err and image.read_bytes() == before


def test_missing_tha3_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TALKCLIP_CACHE", str(tmp_path / "cache"))  # no export there,
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # nor in the command line's cache
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tha3" else real(name, *a))
    write_track(ramp_take(), tmp_path / "take.json")
    rc, _, err = run(capsys, "preview", tmp_path / "take.json", "--image", character(tmp_path), "--out", f"{tmp_path}/f/")
    assert rc != 0 and "pip install 'talkclip[preview]'" in err and "tha3" in err
    assert len(err.strip().splitlines()) == 1


def test_an_export_in_the_command_lines_cache_is_found(tmp_path, monkeypatch):
    """Blender points TALKCLIP_CACHE at the extension's folder; the export the command line built
    in ~/.cache/talkclip ($XDG_CACHE_HOME/talkclip) is still found, the cache in use first."""
    from talkclip_model.render.tha3_files import MANIFEST, export_dir, find_export

    monkeypatch.setenv("TALKCLIP_CACHE", str(tmp_path / "extension"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    in_use, cli = export_dir(), export_dir(tmp_path / "xdg" / "talkclip")
    assert find_export() == in_use  # neither has one: the error names the cache in use
    cli.mkdir(parents=True)
    (cli / MANIFEST).write_text("{}")
    assert find_export() == cli
    in_use.mkdir(parents=True)
    (in_use / MANIFEST).write_text("{}")
    assert find_export() == in_use


def test_the_interface_is_a_protocol():
    assert isinstance(FakeRenderer(), Renderer)


# --- real THA3 renders (slow) ------------------------------------------------------------

@pytest.fixture(scope="module")
def hello_take(tmp_path_factory):
    out = tmp_path_factory.mktemp("take") / "hello.json"
    rc = main(["generate", "--audio", str(EXAMPLES / "hello.wav"), "--transcript-file", str(EXAMPLES / "hello.txt"),
               "--out", str(out)])
    assert rc == 0
    return out


@pytest.mark.slow
def test_real_render_jaw_open_frames_change_the_face_more(hello_take, tmp_path, capsys):
    """The hidden check's shape: 2 s at 5 fps as PNG frames on a tha3 sample image."""
    rc, _, err = run(capsys, "preview", hello_take, "--image", sample_image("crypko_00"), "--out", f"{tmp_path}/f/",
                     "--fps", 5, "--frames", "0:60")
    assert rc == 0, err
    take = read_track(hello_take)
    plan = plan_preview(take, 5, "0:60")
    jaw = sample_track(take, plan.times)[0][:, INDEX["jawOpen"]]
    frames = np.stack([np.asarray(Image.open(tmp_path / "f" / FRAME_NAME.format(i))) for i in range(len(jaw))]).astype(float)
    assert frames.shape == (10, 512, 512, 4)
    closed = frames[int(np.argmin(jaw))]
    change = np.array([np.abs(f[MOUTH][..., :3] - closed[MOUTH][..., :3]).mean() for f in frames])
    is_open = jaw > np.median(jaw)
    assert change[is_open].mean() > 1.3 * change[~is_open].mean(), (jaw.round(2), change.round(2))
    assert np.corrcoef(jaw, change)[0, 1] > 0.4


@pytest.fixture(scope="module")
def fresh_export(tmp_path_factory):
    """The export command run now into a temporary folder (not the user cache's older copy)."""
    export_tha3 = pytest.importorskip("talkclip_model.training.export_tha3")
    folder = tmp_path_factory.mktemp("tha3")
    assert export_tha3.main(["--out", str(folder)]) == 0
    return export_tha3, folder


@pytest.mark.slow
def test_onnx_matches_torch_on_a_frame(fresh_export):
    export_tha3, folder = fresh_export
    from talkclip_model.render.tha3_onnx import Tha3Renderer, load_character

    image = load_character(sample_image("lambda_00"))
    a = np.zeros((1, 52), np.float32)
    a[0, [INDEX["jawOpen"], INDEX["eyeBlinkLeft"], INDEX["browInnerUp"], INDEX["mouthFunnel"]]] = [0.35, 0.6, 0.5, 0.3]
    pose = arkit_to_pose(a, np.array([[0.1, -0.15, 0.05]]))[0]
    onnx_out = Tha3Renderer(folder=folder).render_pose(image, pose)
    torch_out = export_tha3.TorchTha3().render_pose(image, pose)
    diff = np.abs(onnx_out - torch_out)
    assert diff.max() < 0.05 and diff.mean() < 1e-3, (diff.max(), diff.mean())  # network range -1..1
    manifest = json.loads((folder / "tha3_manifest.json").read_text())
    assert manifest["opset"] == 17 and manifest["weights_sha256"]["editor"].startswith("ecbc4680")


@pytest.mark.slow
def test_a_damaged_export_is_refused(fresh_export, tmp_path):
    from talkclip_model.render.tha3_onnx import check_export

    _, folder = fresh_export
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in folder.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    check_export(copy)
    with open(copy / "tha3_poser.onnx", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\0\0\0\0")
    with pytest.raises(TalkclipError, match="corrupt"):
        check_export(copy)
    (copy / "tha3_manifest.json").unlink()
    with pytest.raises(TalkclipError, match="export_tha3"):
        check_export(copy)
