"""Operators: Generate (the pipeline in a worker process, the bake on the main thread), Preview
style, and the edit-prompt list. The steps of a take (request, generate, bake) are ``take.py``'s,
shared with the headless batch; this module gathers the panel's settings and runs the steps
without freezing the UI. Heavy imports happen inside the operators, never at register:
onnxruntime (the CUDA check), ``talkclip_cli.worker`` (it imports the pipeline) and the pipeline
itself (in ``take.py``).

Generate from the UI runs the pipeline in a child Python process (``talkclip_cli.worker``):
PocketSphinx holds the GIL for seconds at a time, so a thread would freeze Blender and delay
Esc. The modal operator polls the worker from a timer, shows progress in the status bar and the
panel, and Esc kills the worker at once. Where no Python binary can be found for the child, a
thread runs the pipeline instead (with a warning). The bake (all bpy writes) runs on the main
thread as the operator's last step, which is one undo step. ``execute`` (scripts, background
mode, batch) runs everything in this process.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import bpy

from talkclip_model.errors import TalkclipError, one_line

from . import preferences, preview
from .bake import pose_style
from .jobs import compose_prompt
from .scene import check_audio_file, check_target, strip_audio, strips_collection_name
from .take import (
    Request,
    bake_request,
    build_request,
    generate_track,
    shared_pipeline,
    worker_request,
)

_RUNNING: list = []  # the generate operator in flight (one at a time)


class Cancelled(Exception):
    pass


def is_running() -> bool:
    """Whether a Generate is in flight in this Blender session."""
    return bool(_RUNNING)


def pipeline_settings(context=None) -> tuple[str | None, list[str] | None, list[str]]:
    """(encoder, onnxruntime providers, warnings) from the preferences; CUDA is dropped, with a
    warning, where onnxruntime cannot use it."""
    preferences.prepare_cache(context)
    encoder, providers = preferences.pipeline_settings(context)
    warnings = []
    if providers and "CUDAExecutionProvider" in providers:
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            warnings.append("CUDA is not available to onnxruntime; running on the CPU")
            providers = ["CPUExecutionProvider"]
    return encoder, providers, warnings


def get_pipeline(context=None) -> tuple[object, list[str]]:
    """The shared Pipeline for the current preferences, and warnings (e.g. no CUDA)."""
    encoder, providers, warnings = pipeline_settings(context)
    return shared_pipeline(encoder, providers), warnings


def take_start(scene) -> tuple[float | None, str]:
    """(frame, why) the take starts at: the frame set in the panel, else the sound strip's start,
    else the playhead. The frame is None when the chosen strip does not exist. Cheap enough for
    the panel's draw, which shows it before Generate."""
    s = scene.talkclip
    if s.use_start_frame:
        return float(s.start_frame), "set"
    if s.audio_source == "STRIP":
        ed = scene.sequence_editor
        strip = getattr(ed, strips_collection_name(ed)).get(s.sound_strip) if ed and s.sound_strip else None
        return (float(strip.frame_start) if strip is not None else None), "sound strip start"
    return float(scene.frame_current), "playhead"


def panel_audio(scene) -> Path:
    """The audio file the panel names: the chosen sound strip's, or the file field's."""
    s = scene.talkclip
    if s.audio_source == "STRIP":
        if not s.sound_strip:
            raise TalkclipError("no sound strip chosen: pick one in the TalkCLIP panel")
        return strip_audio(scene, s.sound_strip).path
    return check_audio_file(s.audio_path, "audio file")


def gather_request(context) -> Request:
    """Check the panel settings and turn them into a Request (take.build_request); raises
    TalkclipError."""
    scene = context.scene
    s = scene.talkclip
    obj = s.target_object(context)
    check_target(obj)  # the character first, as the panel lists it
    audio = panel_audio(scene)
    start = take_start(scene)[0]
    if start is None:  # panel_audio has already refused a missing strip; say so rather than guess
        raise TalkclipError(f"sound strip {s.sound_strip!r} not found in the scene's sequencer")
    req, _ = build_request(
        scene, obj, audio, start_frame=start, prompt=compose_prompt(s.prompt, s.edit_pairs()),
        intensity=s.intensity, transcript=s.transcript.strip() or None, seed=s.seed if s.use_fixed_seed else None,
        use_markers=s.use_markers,
        profile=s.profile, armature=s.armature, head_bone=s.head_bone,
        tolerance=s.tolerance if s.reduce_keys else 0.0, layers=s.bake_layers)
    return req


def remember_seed(settings, track) -> None:
    """Show the seed a take used in the panel's (greyed) seed field, so ticking Fixed seed repeats
    it; a fixed seed is left alone."""
    seed = track.meta.get("seed") if isinstance(getattr(track, "meta", None), dict) else None
    if not settings.use_fixed_seed and isinstance(seed, int) and 0 <= seed < 2 ** 31:
        settings.seed = seed


def _report_summary(op, summary, warnings=()):
    for w in warnings:
        op.report({"WARNING"}, w)
    if summary.unmapped:
        op.report({"WARNING"}, f"{len(summary.unmapped)} ARKit channels have no shape key: "
                               f"{', '.join(summary.unmapped[:6])}{' ...' if len(summary.unmapped) > 6 else ''}")
    op.report({"INFO"}, summary.message())


def failure_line(exc) -> str:
    """A failure as the one line the user reads (report and panel)."""
    return one_line(exc) if isinstance(exc, TalkclipError) else f"TalkCLIP failed: {one_line(exc)}"


def user_error(op, exc, settings=None) -> set:
    """Report a failure as one line (never a traceback dialog), and keep it in the panel's
    status (``settings``: scene.talkclip) after the report fades from the status bar."""
    line = failure_line(exc)
    op.report({"ERROR"}, line)
    if settings is not None:
        settings.status = f"failed: {line}"
    return {"CANCELLED"}


# --- running the pipeline off the UI thread ------------------------------------------------

def python_executable() -> str | None:
    """A Python binary of this Blender's version to run the worker, or None. sys.executable is
    Blender's own Python in official builds and bpy venvs; a distro Blender may report the
    blender binary itself, so the name has to look like Python."""
    version = "%d.%d" % sys.version_info[:2]
    candidates = (sys.executable, getattr(bpy.app, "binary_path_python", None),
                  getattr(sys, "_base_executable", None), shutil.which(f"python{version}"))
    for path in candidates:
        if path and os.path.basename(path).lower().startswith("python") and os.path.isfile(path):
            return path
    return None


class ThreadJob(threading.Thread):
    """The pipeline on a thread of this process, for when no worker process can be started: the
    same face as talkclip_cli.worker.WorkerProcess (stage, fraction, error, poll, result,
    cancel, close). PocketSphinx may hold the GIL, so the UI can pause and Esc comes late."""

    def __init__(self, pipeline, req: Request):
        super().__init__(daemon=True, name="talkclip-generate")
        self.pipeline, self.req = pipeline, req
        self.stage, self.fraction = "starting", 0.0
        self.cancelled = threading.Event()
        self.error: str | None = None
        self.track = None

    def progress(self, stage: str, fraction: float) -> None:
        # talkclip_cli.worker imports the pipeline: not at registration
        from talkclip_cli.worker import overall

        if self.cancelled.is_set():
            raise Cancelled()
        self.stage, self.fraction = overall(stage, fraction)

    def run(self):
        try:
            self.track = generate_track(self.pipeline, self.req, self.progress)
        except Cancelled:
            pass
        except Exception as exc:  # handed to the main thread as the worker process would
            self.error = one_line(exc)

    def poll(self) -> bool:
        return not self.is_alive()

    def result(self):
        if self.error is not None:
            raise TalkclipError(self.error)
        return self.track

    def cancel(self) -> None:
        self.cancelled.set()  # the thread stops at its next progress report

    def close(self) -> None:
        self.track = None


def start_job(context, req: Request) -> tuple[object, list[str]]:
    """Start generating ``req`` off the UI thread: (job, warnings). A worker process where a
    Python binary can run one, else a thread of this process (never a refusal on a guess)."""
    # talkclip_cli.worker imports the pipeline: not at registration
    from talkclip_cli.worker import WorkerProcess, child_env

    python = python_executable()
    if python is not None:
        encoder, providers, warnings = pipeline_settings(context)  # sets TALKCLIP_CACHE / _MODELS
        try:
            return WorkerProcess(worker_request(req, encoder, providers), python, env=child_env()), warnings
        except OSError as exc:
            reason = f"cannot run {python} ({exc.strerror or exc})"
    else:
        reason = "no Python binary found"
    pipeline, warnings = get_pipeline(context)
    job = ThreadJob(pipeline, req)
    job.start()
    return job, [*warnings, f"{reason} for a worker process; generating inside Blender, so the UI may pause"]


def redraw_panels(context) -> None:
    """Redraw every 3D-view sidebar (the TalkCLIP panel) and the status bar: Blender redraws
    them only on events over them, so progress and the Generate button would go stale."""
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "STATUSBAR":
                area.tag_redraw()
            elif area.type == "VIEW_3D":
                for region in area.regions:
                    if region.type == "UI":
                        region.tag_redraw()


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
            summary = bake_request(context.scene, req, track)
        except Exception as exc:
            return user_error(self, exc, context.scene.talkclip)
        remember_seed(context.scene.talkclip, track)
        preview.remember_take(req.target, track, summary.action, req.start_frame, req.fps)
        context.scene.talkclip.status = f"baked {summary.action}"
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
            self._job, self._warnings = start_job(context, self._req)
        except Exception as exc:
            return user_error(self, exc, context.scene.talkclip)
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        _RUNNING.append(self)
        context.scene.talkclip.running = True
        context.scene.talkclip.status = "starting"
        redraw_panels(context)
        return {"RUNNING_MODAL"}

    def _finish(self, context, status: str | None = None):
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        context.scene.talkclip.running = False
        if status is not None:
            context.scene.talkclip.status = status
        _RUNNING.clear()
        redraw_panels(context)  # the Generate button is enabled again right away

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC" and event.value == "PRESS":
            job.cancel()
            self._finish(context, "cancelled")
            self.report({"WARNING"}, "TalkCLIP: cancelled, nothing was baked")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}  # the rest of the UI stays usable
        if not job.poll():
            pct = int(100 * job.fraction)
            status = f"{job.stage} {pct}%"
            if status != context.scene.talkclip.status:  # each write re-tags the scene: only on change
                context.window_manager.progress_update(pct)
                context.workspace.status_text_set(f"TalkCLIP: {status}  (Esc to cancel)")
                context.scene.talkclip.status = status
                redraw_panels(context)
            return {"PASS_THROUGH"}
        try:
            track = job.result()
            summary = bake_request(context.scene, self._req, track)
            remember_seed(context.scene.talkclip, track)
            preview.remember_take(self._req.target, track, summary.action, self._req.start_frame, self._req.fps)
        except Exception as exc:
            self._finish(context)
            return user_error(self, exc, context.scene.talkclip)
        finally:
            job.close()
        self._finish(context, f"baked {summary.action}")
        _report_summary(self, summary, self._warnings)
        return {"FINISHED"}

    def cancel(self, context):  # window closed / file loaded while running
        self._job.cancel()
        self._finish(context, "cancelled")


class TALKCLIP_OT_preview_style(bpy.types.Operator):
    """Pose the shape keys with the style alone (no keys are written)"""

    bl_idname = "talkclip.preview_style"
    bl_label = "Preview style"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = context.scene.talkclip
        try:
            obj = s.target_object(context)
            check_target(obj)
            pipeline, warnings = get_pipeline(context)
            style = pipeline.style(compose_prompt(s.prompt, s.edit_pairs()), s.intensity)
            profile = None if s.profile.strip() in ("", "auto") else s.profile.strip()
            n = pose_style(obj, style.arkit, profile=profile)
        except Exception as exc:
            return user_error(self, exc)
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
