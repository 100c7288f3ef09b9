"""The add-on registered from the repository: operators on good and bad input (reports, never
tracebacks, never lost animation), sound-strip audio, the modal Generate with a worker process
(progress, bake, Esc within a second, failure kept in the panel) and its thread fallback."""

from __future__ import annotations

import shutil
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from bpy_scenes import build_face, empty_scene, fcurve_of, keyed, mesh_object  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from helpers import synthetic_track  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon import batch, jobs, operators, panel, take  # noqa: E402
from talkclip_cli.worker import WorkerProcess  # noqa: E402

pytestmark = pytest.mark.bpy


class FakePipeline:
    """Stands in for talkclip_model.pipeline.Pipeline: a fixed track, records its calls."""

    def __init__(self, frames: int = 40, delay: float = 0.0):
        self.calls = []
        self.frames, self.delay = frames, delay

    def generate(self, audio, options, progress=None):
        self.calls.append((audio, options))
        for i in range(5):
            if progress:
                progress("phonemes", i / 4)
            time.sleep(self.delay)
        return synthetic_track(self.frames, fps=options.fps, seed=len(self.calls))

    def style(self, prompt, intensity=1.0):
        from talkclip_model.types import SpeakingStyle

        arkit = np.zeros(52, np.float32)
        arkit[23] = 0.6 * intensity  # mouthSmileLeft
        return SpeakingStyle(arkit=arkit, prompt=prompt or "")


@pytest.fixture
def addon(monkeypatch):
    empty_scene()
    blender_addon.register()
    fake = FakePipeline()
    monkeypatch.setattr(operators, "get_pipeline", lambda context=None: (fake, []))
    yield fake
    blender_addon.unregister()


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "line07.wav"
    shutil.copy(EXAMPLES / "hello.wav", path)
    return path


def test_generate_bakes_a_new_action_per_take(addon, wav):
    scene = bpy.context.scene
    face = build_face()
    s = scene.talkclip
    s.target = face
    s.audio_path = str(wav)
    s.prompt = "calm"
    s.edits.add().text = "smiling"
    scene.frame_current = 7
    assert bpy.ops.talkclip.generate() == {"FINISHED"}
    assert bpy.ops.talkclip.generate() == {"FINISHED"}
    audio, options = addon.calls[0]
    assert audio == wav and options.fps == 30 and options.prompt == '"calm" + 0.5*"smiling"'
    ad = face.data.shape_keys.animation_data
    assert ad.action.name == "TalkCLIP_line07.001"
    assert [t.strips[0].action.name for t in ad.nla_tracks] == ["TalkCLIP_line07"]
    frames, values = keyed(fcurve_of(ad.action, "jawOpen"))
    assert frames[0] == 7
    np.testing.assert_allclose(values, synthetic_track(40, seed=2).channel("jawOpen"), atol=1e-6)


def test_sound_strip_gives_audio_and_start_frame(addon, wav):
    scene = bpy.context.scene
    face = build_face()
    scene.sequence_editor_create()
    scene.sequence_editor.strips.new_sound("Dialogue", str(wav), 1, 25)
    scene.timeline_markers.new("style: furious", frame=55)
    s = scene.talkclip
    s.target, s.audio_source, s.sound_strip = face, "STRIP", "Dialogue"
    req = operators.gather_request(bpy.context)
    assert req.audio == wav and req.start_frame == 25 and req.take == "line07"
    assert req.schedule == ((1.0, "furious"),)
    s.use_start_frame, s.start_frame = True, 3
    assert operators.gather_request(bpy.context).start_frame == 3
    assert bpy.ops.talkclip.generate() == {"FINISHED"}


def test_seed_comes_from_the_take_unless_fixed(addon, wav, monkeypatch):
    """Fixed seed off (the default): the take seeds itself from its audio and the greyed field
    shows the seed it used; ticking Fixed seed repeats that take."""
    scene = bpy.context.scene
    s = scene.talkclip
    s.target, s.audio_path = build_face(), str(wav)
    used = 123456

    def generate(audio, options, progress=None):
        addon.calls.append((audio, options))
        track = synthetic_track(40, fps=options.fps)
        track.meta["seed"] = used if options.seed is None else options.seed
        return track

    monkeypatch.setattr(addon, "generate", generate)
    assert not s.use_fixed_seed
    req = operators.gather_request(bpy.context)
    assert req.seed is None and take.worker_request(req)["seed"] is None
    assert bpy.ops.talkclip.generate() == {"FINISHED"}
    assert addon.calls[-1][1].seed is None and s.seed == used
    s.use_fixed_seed = True
    assert bpy.ops.talkclip.generate() == {"FINISHED"}
    assert addon.calls[-1][1].seed == used
    s.seed = 9
    assert bpy.ops.talkclip.generate() == {"FINISHED"}
    assert addon.calls[-1][1].seed == 9 and s.seed == 9  # a fixed seed is left as it is


def test_batch_builds_the_request_the_panel_builds(addon, wav, tmp_path):
    """The panel's Generate and a batch row with the same settings make the same take."""
    scene = bpy.context.scene
    face = build_face()
    scene.timeline_markers.new("style: furious", frame=31)
    s = scene.talkclip
    s.target, s.audio_path, s.transcript, s.seed, s.intensity = face, str(wav), " hello there ", 4, 0.5
    s.use_fixed_seed = True
    s.prompt, s.use_start_frame, s.start_frame = "calm", True, 1
    panel_req = operators.gather_request(bpy.context)
    job = jobs.Job(index=1, name="row", blend=tmp_path / "face.blend", object="Face", audio=wav, transcript="hello there",
                   prompt='"calm"', seed=4, intensity=0.5, start_frame=1.0, output=tmp_path / "out.blend")
    result = jobs.JobResult(job=1, name="row", status="pending")
    assert batch.job_request(job, scene, result) == panel_req
    assert panel_req.schedule == ((1.0, "furious"),) and panel_req.take == "line07" and panel_req.profile is None
    assert (result.profile, result.channels_mapped) == ("arkit", 52)  # reported before the generation


@pytest.mark.parametrize("case,message", [
    ("nothing", "no object selected"),
    ("plain", "has no shape keys"),
    ("nomatch", "matches"),
    ("noaudio", "does not exist"),
    ("codec", "unsupported audio format"),
    ("nostrip", "no sound strip chosen"),
])
def test_bad_input_is_a_one_line_report(addon, wav, tmp_path, case, message):
    scene = bpy.context.scene
    s = scene.talkclip
    s.audio_path = str(wav)
    if case == "plain":
        s.target = mesh_object("Plain", np.zeros((3, 3)), [(0, 1, 2)])
    elif case == "nomatch":
        s.target = build_face(["Smile_custom", "Frown_custom"], name="Odd")
    elif case != "nothing":
        s.target = build_face()
    if case == "noaudio":
        s.audio_path = str(tmp_path / "missing.wav")
    if case == "codec":
        (tmp_path / "line.m4a").write_bytes(b"\0" * 64)
        s.audio_path = str(tmp_path / "line.m4a")
    if case == "nostrip":
        s.audio_source = "STRIP"
    with pytest.raises(RuntimeError, match=message) as info:
        bpy.ops.talkclip.generate()
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value).strip()
    assert s.status.startswith("failed: ") and message in s.status
    assert not addon.calls
    if s.target is not None and s.target.data.shape_keys is not None:
        assert s.target.data.shape_keys.animation_data is None


def test_failure_inside_the_pipeline_keeps_existing_animation(addon, wav, monkeypatch):
    scene = bpy.context.scene
    face = build_face()
    key = face.data.shape_keys
    ad = key.animation_data_create()
    ad.action = bpy.data.actions.new("Keep")
    ad.action.fcurve_ensure_for_datablock(key, 'key_blocks["jawOpen"].value').keyframe_points.insert(1, 0.3)

    def broken(*a, **k):
        from talkclip_model.errors import TalkclipError

        raise TalkclipError("line07.wav: cannot decode audio")

    monkeypatch.setattr(addon, "generate", broken)
    scene.talkclip.target, scene.talkclip.audio_path = face, str(wav)
    with pytest.raises(RuntimeError, match="cannot decode audio"):
        bpy.ops.talkclip.generate()
    assert ad.action.name == "Keep" and len(ad.nla_tracks) == 0


def test_preview_style_poses_without_keys(addon):
    face = build_face()
    s = bpy.context.scene.talkclip
    s.target, s.prompt, s.intensity = face, "happy", 0.5
    assert bpy.ops.talkclip.preview_style() == {"FINISHED"}
    assert face.data.shape_keys.key_blocks["mouthSmileLeft"].value == pytest.approx(0.3)
    assert face.data.shape_keys.animation_data is None


def test_edit_list_operators(addon):
    s = bpy.context.scene.talkclip
    bpy.ops.talkclip.edit_add()
    bpy.ops.talkclip.edit_add()
    s.edits[0].text, s.edits[0].weight = "tired", -0.3
    bpy.ops.talkclip.edit_remove()
    assert len(s.edits) == 1 and s.edit_pairs()[0] == ("tired", pytest.approx(-0.3))


def test_thread_job_reports_progress_and_cancels():
    req = take.Request(target="Face", audio=EXAMPLES / "hello.wav", take="t", start_frame=1, fps=30,
                       prompt=None, intensity=1.0, transcript=None, seed=0)
    job = operators.ThreadJob(FakePipeline(delay=0.01), req)
    job.start()
    job.join(5)
    assert job.poll() and job.error is None and job.result() is not None
    assert (job.stage, job.fraction) == ("style", pytest.approx(0.8))  # phonemes done: style is next
    slow = operators.ThreadJob(FakePipeline(delay=0.2), req)
    slow.start()
    slow.cancel()
    slow.join(5)
    assert slow.error is None and slow.track is None


def test_panel_detection_text(addon):
    ok, text = panel.detection_text(build_face(), "auto")
    assert ok and "52/52" in text
    ok, text = panel.detection_text(mesh_object("Plain", np.zeros((3, 3)), [(0, 1, 2)]), "auto")
    assert not ok and "no shape keys" in text


class FakeLayout:
    """Stands in for UILayout when drawing headless: checks every property name drawn."""

    def __init__(self, seen):
        self.seen = seen

    def _sub(self, *args, **kwargs):
        return FakeLayout(self.seen)

    row = column = box = split = _sub

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, f"{type(data).__name__} has no property {name!r}"
        self.seen.append(name)

    def prop_search(self, data, name, search_data, search_name, **kwargs):
        assert name in data.bl_rna.properties and search_name in search_data.bl_rna.properties
        self.seen.append(name)

    def operator(self, idname, **kwargs):
        category, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, category), name), idname
        self.seen.append(idname)

    def label(self, **kwargs):
        self.seen.append(kwargs.get("text", ""))

    def template_list(self, *args, **kwargs):
        self.seen.append("template_list")

    def __setattr__(self, key, value):
        object.__setattr__(self, key, value)


@pytest.mark.parametrize("source", ["FILE", "STRIP"])
def test_panel_draws_every_setting(addon, source):
    scene = bpy.context.scene
    s = scene.talkclip
    s.target = build_face()
    s.audio_source = source
    scene.sequence_editor_create()
    rig = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    scene.collection.objects.link(rig)
    s.armature = rig
    s.status = "baked TalkCLIP_x"
    seen = []
    panel_obj = type("P", (), {"layout": FakeLayout(seen)})()
    panel.TALKCLIP_PT_main.draw(panel_obj, bpy.context)
    assert "talkclip.generate" in seen and "talkclip.preview_style" in seen and "prompt" in seen
    assert ("audio_path" in seen) == (source == "FILE") and ("sound_strip" in seen) == (source == "STRIP")
    assert any("52/52" in str(x) for x in seen) and "head_bone" in seen
    assert "use_fixed_seed" in seen and "seed" in seen  # the seed row: its toggle, then the field


# --- the modal Generate, driven by hand (the bpy module has no window, so invoke runs execute) --

TIMER = SimpleNamespace(type="TIMER", value="NOTHING")
ESC = SimpleNamespace(type="ESC", value="PRESS")


def modal_op(job, req):
    """A stand-in for a running TALKCLIP_OT_generate: its job, request and collected reports."""
    op_cls = operators.TALKCLIP_OT_generate
    op = SimpleNamespace(_job=job, _req=req, _warnings=[], _timer=None, reports=[])
    op.report = lambda kind, msg: op.reports.append((kind, msg))
    op._finish = lambda context, status=None: op_cls._finish(op, context, status)
    operators._RUNNING.append(op)
    return op


def modal_context():
    wm = SimpleNamespace(windows=[], progress_update=lambda pct: None, event_timer_remove=lambda t: None,
                         progress_end=lambda: None)
    return SimpleNamespace(scene=bpy.context.scene, window_manager=wm,
                           workspace=SimpleNamespace(status_text_set=lambda text: None))


def tick_until_done(op, ctx, timeout=120.0) -> set:
    """Timer ticks as Blender sends them, until the operator ends; progress must never go back."""
    deadline, shown = time.monotonic() + timeout, []
    while True:
        result = operators.TALKCLIP_OT_generate.modal(op, ctx, TIMER)
        if result != {"PASS_THROUGH"}:
            assert shown == sorted(shown)
            return result
        shown.append(op._job.fraction)
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.fixture
def long_wav(tmp_path):
    """hello.wav six times over (37 s): recognition without a transcript runs for seconds."""
    import soundfile as sf

    samples, rate = sf.read(EXAMPLES / "hello.wav", dtype="int16")
    path = tmp_path / "long.wav"
    sf.write(path, np.concatenate([samples] * 6), rate)
    return path


def test_modal_generate_with_fake_jobs(addon, wav):
    """Timer ticks while the job runs pass through, Esc cancels at once without baking, a
    finished job bakes once; the panel status follows and Generate is free again."""
    face = build_face()
    s = bpy.context.scene.talkclip
    s.target, s.audio_path = face, str(wav)
    ctx = modal_context()
    op_cls = operators.TALKCLIP_OT_generate

    req = operators.gather_request(bpy.context)
    job = operators.ThreadJob(FakePipeline(delay=0.0), req)
    job.start()
    job.join(5)
    op = modal_op(job, req)
    assert op_cls.modal(op, ctx, TIMER) == {"FINISHED"}
    assert face.data.shape_keys.animation_data.action.name == "TalkCLIP_line07"
    assert op.reports[-1][0] == {"INFO"} and "baked" in op.reports[-1][1]
    assert s.status == "baked TalkCLIP_line07" and not operators.is_running()

    job = operators.ThreadJob(FakePipeline(delay=0.3), req)
    job.start()
    op = modal_op(job, req)
    assert op_cls.modal(op, ctx, TIMER) == {"PASS_THROUGH"}
    assert op_cls.modal(op, ctx, SimpleNamespace(type="MOUSEMOVE", value="NOTHING")) == {"PASS_THROUGH"}
    assert op_cls.modal(op, ctx, ESC) == {"CANCELLED"}
    assert "cancelled" in op.reports[-1][1] and s.status == "cancelled" and not operators.is_running()
    job.join(5)
    assert face.data.shape_keys.animation_data.action.name == "TalkCLIP_line07"  # nothing new baked


def test_generate_in_a_worker_process_bakes(addon, wav):
    face = build_face()
    s = bpy.context.scene.talkclip
    s.target, s.audio_path = face, str(wav)
    s.transcript = (EXAMPLES / "hello.txt").read_text(encoding="utf-8")
    req = operators.gather_request(bpy.context)
    job, warnings = operators.start_job(bpy.context, req)
    assert isinstance(job, WorkerProcess) and warnings == []
    op = modal_op(job, req)
    assert tick_until_done(op, modal_context()) == {"FINISHED"}, op.reports
    action = face.data.shape_keys.animation_data.action
    assert action.name == "TalkCLIP_line07" and s.status == "baked TalkCLIP_line07"
    assert len(fcurve_of(action, "jawOpen").keyframe_points) > 100
    assert not addon.calls  # the pipeline ran in the worker, not in Blender
    assert not job.folder.exists() and not operators.is_running()


def test_esc_stops_the_worker_within_a_second(addon, long_wav):
    face = build_face()
    s = bpy.context.scene.talkclip
    s.target, s.audio_path = face, str(long_wav)
    req = operators.gather_request(bpy.context)
    job, _ = operators.start_job(bpy.context, req)
    op, ctx = modal_op(job, req), modal_context()
    deadline = time.monotonic() + 60
    while job.stage != "phonemes":  # recognition: PocketSphinx holds the worker's GIL
        assert operators.TALKCLIP_OT_generate.modal(op, ctx, TIMER) == {"PASS_THROUGH"}
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    assert operators.TALKCLIP_OT_generate.modal(op, ctx, TIMER) == {"PASS_THROUGH"}
    assert s.status.startswith("phonemes")
    t0 = time.perf_counter()
    assert operators.TALKCLIP_OT_generate.modal(op, ctx, ESC) == {"CANCELLED"}
    latency = time.perf_counter() - t0
    print(f"Esc to CANCELLED: {latency * 1000:.0f} ms")
    assert latency < 1.0, latency
    assert job.proc.returncode is not None and not job.folder.exists()
    assert s.status == "cancelled" and op.reports[-1] == ({"WARNING"}, "TalkCLIP: cancelled, nothing was baked")
    assert face.data.shape_keys.animation_data is None and not operators.is_running()


def test_worker_failure_reason_stays_in_the_panel(addon, wav):
    face = build_face()
    s = bpy.context.scene.talkclip
    s.target, s.audio_path = face, str(wav)
    req = operators.gather_request(bpy.context)
    wav.write_bytes(b"not audio at all" * 64)  # broken after the checks: only the worker finds out
    job, _ = operators.start_job(bpy.context, req)
    op = modal_op(job, req)
    assert tick_until_done(op, modal_context()) == {"CANCELLED"}
    assert s.status.startswith("failed: ") and "line07.wav" in s.status and "\n" not in s.status
    assert op.reports[-1] == ({"ERROR"}, s.status[len("failed: "):])
    lines = panel.wrap_lines(s.status, 400)
    assert len(lines) > 1 and max(map(len, lines)) <= 400 / panel.CHAR_WIDTH_PX
    assert "".join(lines).replace(" ", "") == s.status.replace(" ", "")  # wrapped, nothing cut


def test_no_python_binary_falls_back_to_a_thread(addon, wav, monkeypatch):
    s = bpy.context.scene.talkclip
    s.target, s.audio_path = build_face(), str(wav)
    monkeypatch.setattr(operators, "python_executable", lambda: None)
    job, warnings = operators.start_job(bpy.context, operators.gather_request(bpy.context))
    job.join(5)
    assert isinstance(job, operators.ThreadJob) and job.result() is not None
    assert any("no Python binary found" in w for w in warnings) and addon.calls
    monkeypatch.setattr(operators, "python_executable", lambda: str(EXAMPLES / "hello.txt"))  # not executable
    job, warnings = operators.start_job(bpy.context, operators.gather_request(bpy.context))
    job.join(5)
    assert isinstance(job, operators.ThreadJob) and "cannot run" in warnings[-1]


def test_python_executable(monkeypatch):
    assert operators.python_executable() == sys.executable  # a venv with the bpy module
    blender = "/usr/bin/blender"
    monkeypatch.setattr(sys, "executable", blender)
    assert operators.python_executable() == sys._base_executable
    monkeypatch.setattr(sys, "_base_executable", blender)
    monkeypatch.setattr(operators.shutil, "which", lambda name: None)
    assert operators.python_executable() is None


def test_take_start_shown_before_generate(addon, wav):
    scene = bpy.context.scene
    s = scene.talkclip
    scene.frame_current = 12
    assert panel.start_text(scene) == "Starts at frame 12 (playhead)"
    scene.sequence_editor_create()
    scene.sequence_editor.strips.new_sound("Dialogue", str(wav), 1, 25)
    s.audio_source = "STRIP"
    assert panel.start_text(scene) == "Starts at the sound strip's start: pick a strip"
    s.sound_strip = "Dialogue"
    assert panel.start_text(scene) == "Starts at frame 25 (sound strip start)"
    s.use_start_frame, s.start_frame = True, 3
    assert panel.start_text(scene) == "Starts at frame 3 (set)"


def test_redraw_tags_every_sidebar_and_the_status_bar():
    tagged = []

    def thing(kind, **kw):
        return SimpleNamespace(type=kind, tag_redraw=lambda: tagged.append(kind), **kw)

    areas = [thing("VIEW_3D", regions=[thing("WINDOW"), thing("UI"), thing("HEADER")]),
             thing("PROPERTIES", regions=[thing("UI")]), thing("STATUSBAR", regions=[])]
    wm = SimpleNamespace(windows=[SimpleNamespace(screen=SimpleNamespace(areas=areas))] * 2)
    operators.redraw_panels(SimpleNamespace(window_manager=wm))
    assert tagged == ["UI", "STATUSBAR"] * 2
