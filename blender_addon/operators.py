"""Operators: Generate (runs the pipeline on a worker thread, bakes on the main thread), Preview
style, and the edit-prompt list. Heavy imports happen inside the operators, never at register.

The worker thread runs only numpy/onnxruntime/PocketSphinx code and touches no bpy data; the
modal operator polls it from a timer, shows progress in the status bar, and Esc sets a flag that
the pipeline's progress callback turns into an exception. The bake itself (all bpy writes) runs
on the main thread as the last step of the operator, which is one undo step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from . import _deps, preferences
from .jobs import compose_prompt

_PIPELINES: dict = {}  # (encoder, providers) -> Pipeline: models load once per session
_RUNNING: list = []  # the generate operator in flight (one at a time)


class Cancelled(Exception):
    pass


def is_running() -> bool:
    """Whether a Generate is in flight in this Blender session."""
    return bool(_RUNNING)


def get_pipeline(context=None) -> tuple[object, list[str]]:
    """The shared Pipeline for the current preferences, and warnings (e.g. no CUDA)."""
    preferences.prepare_cache(context)
    encoder, providers = preferences.pipeline_settings(context)
    warnings = []
    if providers and "CUDAExecutionProvider" in providers:
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            warnings.append("CUDA is not available to onnxruntime; running on the CPU")
            providers = ["CPUExecutionProvider"]
    key = (encoder, tuple(providers or ()))
    if key not in _PIPELINES:
        pipeline = _deps.module("talkclip_model.pipeline")
        _PIPELINES[key] = pipeline.Pipeline(encoder=encoder, providers=providers)
    return _PIPELINES[key], warnings


@dataclass
class Request:
    """Everything one take needs, gathered on the main thread into plain values."""

    target: str
    audio: Path
    take: str
    start_frame: float
    fps: float
    prompt: str | None
    intensity: float
    transcript: str | None
    seed: int
    schedule: list = field(default_factory=list)
    profile: str | None = None
    armature: str | None = None
    head_bone: str | None = None
    tolerance: float = 0.0
    layers: bool = False


def gather_request(context) -> Request:
    """Check the panel settings and turn them into a Request; raises TalkclipError."""
    scene_mod = _deps.module("exporters.blender_scene")
    binding_mod = _deps.module("exporters.blender_binding")
    TalkclipError = _deps.error_type()
    scene = context.scene
    s = scene.talkclip
    obj = s.target_object(context)
    scene_mod.check_target(obj)
    profile = None if s.profile.strip() in ("", "auto") else s.profile.strip()
    binding_mod.bind(scene_mod.shape_key_names(obj), profile)  # fails early when nothing maps
    if s.audio_source == "STRIP":
        if not s.sound_strip:
            raise TalkclipError("no sound strip chosen: pick one in the TalkCLIP panel")
        strip = scene_mod.strip_audio(scene, s.sound_strip)
        audio, default_start = strip.path, strip.frame_start
    else:
        audio = scene_mod.check_audio_file(s.audio_path, "audio file")
        default_start = float(scene.frame_current)
    start = float(s.start_frame) if s.use_start_frame else default_start
    if s.armature is not None:
        if not s.head_bone:
            raise TalkclipError(f"armature {s.armature.name!r} is set but no head bone is chosen")
        scene_mod.check_head_bone(s.armature, s.head_bone)
    return Request(
        target=obj.name, audio=audio, take=audio.stem, start_frame=start, fps=scene_mod.scene_fps(scene),
        prompt=compose_prompt(s.prompt, s.edit_pairs()), intensity=s.intensity,
        transcript=s.transcript.strip() or None, seed=s.seed,
        schedule=scene_mod.style_schedule(scene, start) if s.use_markers else [],
        profile=profile, armature=s.armature.name if s.armature else None,
        head_bone=s.head_bone or None, tolerance=s.tolerance if s.reduce_keys else 0.0,
        layers=s.bake_layers)


def generate_track(pipeline, req: Request, progress=None):
    """Run the pipeline for a request (no bpy: safe on a worker thread)."""
    options = _deps.module("talkclip_model.pipeline").GenerateOptions(
        fps=req.fps, seed=req.seed, transcript=req.transcript, prompt=req.prompt,
        intensity=req.intensity, schedule=list(req.schedule))
    return pipeline.generate(req.audio, options, progress=progress)


def bake_request(context, req: Request, track):
    """Bake a generated track as the request says (main thread). Returns the BakeSummary."""
    bake = _deps.module("exporters.blender_bake")
    obj = bpy.data.objects.get(req.target)
    summary = bake.bake_shape_keys(obj, track, take=req.take, start_frame=req.start_frame,
                                   profile=req.profile, reduce_tolerance=req.tolerance,
                                   layers=req.layers, scene=context.scene)
    if req.armature:
        summary.head_action = bake.bake_head(bpy.data.objects.get(req.armature), req.head_bone, track,
                                             take=req.take, start_frame=req.start_frame,
                                             reduce_tolerance=req.tolerance, scene=context.scene)
    return summary


def _report_summary(op, summary, warnings=()):
    for w in warnings:
        op.report({"WARNING"}, w)
    if summary.unmapped:
        op.report({"WARNING"}, f"{len(summary.unmapped)} ARKit channels have no shape key: "
                               f"{', '.join(summary.unmapped[:6])}{' ...' if len(summary.unmapped) > 6 else ''}")
    op.report({"INFO"}, summary.message())


def _user_error(op, exc) -> set:
    """Report a failure as one line (never a traceback dialog)."""
    if isinstance(exc, _deps.error_type()):
        op.report({"ERROR"}, str(exc))
    else:
        op.report({"ERROR"}, f"TalkCLIP failed: {type(exc).__name__}: {' '.join(str(exc).split())}")
    return {"CANCELLED"}


class _Worker(threading.Thread):
    """Runs the pipeline off the UI thread; reads and writes only plain Python values."""

    STAGES = {"audio": (0.0, 0.1), "phonemes": (0.1, 0.8), "style": (0.8, 0.85), "decode": (0.85, 1.0)}

    def __init__(self, pipeline, req: Request):
        super().__init__(daemon=True, name="talkclip-generate")
        self.pipeline, self.req = pipeline, req
        self.stage, self.fraction = "starting", 0.0
        self.cancel = threading.Event()
        self.track = None
        self.error: BaseException | None = None

    def progress(self, stage: str, fraction: float) -> None:
        if self.cancel.is_set():
            raise Cancelled()
        lo, hi = self.STAGES.get(stage, (0.0, 1.0))
        self.stage, self.fraction = stage, lo + (hi - lo) * min(max(fraction, 0.0), 1.0)

    def run(self):
        try:
            self.track = generate_track(self.pipeline, self.req, self.progress)
        except BaseException as exc:  # handed to the main thread
            self.error = exc


class TALKCLIP_OT_generate(bpy.types.Operator):
    """Generate facial animation from the audio and style, and bake it as a new action"""

    bl_idname = "talkclip.generate"
    bl_label = "Generate"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):  # blocking: scripts, tests and background mode
        try:
            req = gather_request(context)
            pipeline, warnings = get_pipeline(context)
            track = generate_track(pipeline, req)
            summary = bake_request(context, req, track)
        except Exception as exc:
            return _user_error(self, exc)
        _report_summary(self, summary, warnings)
        return {"FINISHED"}

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if _RUNNING:
            self.report({"WARNING"}, "TalkCLIP is already generating; wait or press Esc")
            return {"CANCELLED"}
        try:
            self._req = gather_request(context)
            pipeline, self._warnings = get_pipeline(context)
        except Exception as exc:
            return _user_error(self, exc)
        self._worker = _Worker(pipeline, self._req)
        self._worker.start()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        _RUNNING.append(self)
        context.scene.talkclip.running = True
        return {"RUNNING_MODAL"}

    def _finish(self, context):
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        context.scene.talkclip.running = False
        _RUNNING.clear()

    def modal(self, context, event):
        worker = self._worker
        if event.type == "ESC" and event.value == "PRESS":
            worker.cancel.set()
            context.workspace.status_text_set("TalkCLIP: cancelling...")
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}  # the rest of the UI stays usable
        if worker.is_alive():
            pct = int(100 * worker.fraction)
            context.window_manager.progress_update(pct)
            context.workspace.status_text_set(f"TalkCLIP: {worker.stage} {pct}%  (Esc to cancel)")
            context.scene.talkclip.status = f"{worker.stage} {pct}%"
            return {"PASS_THROUGH"}
        self._finish(context)
        s = context.scene.talkclip
        if isinstance(worker.error, Cancelled) or worker.cancel.is_set():
            s.status = "cancelled"
            self.report({"WARNING"}, "TalkCLIP: cancelled, nothing was baked")
            return {"CANCELLED"}
        if worker.error is not None:
            s.status = "failed"
            return _user_error(self, worker.error)
        try:
            summary = bake_request(context, self._req, worker.track)
        except Exception as exc:
            s.status = "failed"
            return _user_error(self, exc)
        s.status = f"baked {summary.action}"
        _report_summary(self, summary, self._warnings)
        return {"FINISHED"}

    def cancel(self, context):  # window closed / file loaded while running
        self._worker.cancel.set()
        self._finish(context)


class TALKCLIP_OT_preview_style(bpy.types.Operator):
    """Pose the shape keys with the style alone (no keys are written)"""

    bl_idname = "talkclip.preview_style"
    bl_label = "Preview style"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = context.scene.talkclip
        try:
            scene_mod = _deps.module("exporters.blender_scene")
            bake = _deps.module("exporters.blender_bake")
            obj = s.target_object(context)
            scene_mod.check_target(obj)
            pipeline, warnings = get_pipeline(context)
            style = pipeline.style(compose_prompt(s.prompt, s.edit_pairs()), s.intensity)
            profile = None if s.profile.strip() in ("", "auto") else s.profile.strip()
            n = bake.pose_style(obj, style.arkit, profile=profile)
        except Exception as exc:
            return _user_error(self, exc)
        for w in warnings:
            self.report({"WARNING"}, w)
        self.report({"INFO"}, f"posed {n} shape keys of {obj.name!r} with the style (no keys written)")
        return {"FINISHED"}


class TALKCLIP_OT_edit_add(bpy.types.Operator):
    """Add a weighted edit prompt"""

    bl_idname = "talkclip.edit_add"
    bl_label = "Add edit"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    def execute(self, context):
        s = context.scene.talkclip
        s.edits.add()
        s.edit_index = len(s.edits) - 1
        return {"FINISHED"}


class TALKCLIP_OT_edit_remove(bpy.types.Operator):
    """Remove the selected edit prompt"""

    bl_idname = "talkclip.edit_remove"
    bl_label = "Remove edit"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return len(context.scene.talkclip.edits) > 0

    def execute(self, context):
        s = context.scene.talkclip
        s.edits.remove(s.edit_index)
        s.edit_index = max(0, min(s.edit_index, len(s.edits) - 1))
        return {"FINISHED"}


CLASSES = (TALKCLIP_OT_generate, TALKCLIP_OT_preview_style, TALKCLIP_OT_edit_add, TALKCLIP_OT_edit_remove)
