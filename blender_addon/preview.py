"""Preview on image: the last take baked in this session, rendered on a character picture with
the neural renderer (THA3 on onnxruntime, docs/preview.md) into a PNG sequence the animator scrubs
with the timeline.

The frames land in a new folder beside the .blend (``//talkclip_preview/<action>/``; the
temporary folder for an unsaved file), never over an earlier preview, numbered by scene frame
from the take's start. Every ``step`` scene frames one frame is rendered and the frames between
hold it (a copy), so the sequence lines up with the bake frame for frame. It is shown on an image
empty beside the face (``TalkCLIP preview``, auto-refreshing), which follows the playhead.

From the UI the renderer and the PNG writer (``exporters.png``) run on a thread (onnxruntime and
zlib release the GIL), with progress in the panel and the status bar; Esc stops it and removes the
partial folder. ``execute`` (scripts, background mode) renders in place. The picture is read
through bpy, so Blender needs no Pillow. The take itself stays in memory only: the preview is for
the take just generated; after reopening the file, generate again.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from talkclip_model.errors import TalkclipError
from talkclip_model.types import ExpressionTrack

EMPTY_NAME = "TalkCLIP preview"
FRAME_PREFIX = "frame_"  # frame_00001.png ...: Blender reads the digits as the sequence number
OWNED = "talkclip_preview"  # custom property marking the image empty as ours (it is updated, others never are)


@dataclass
class LastTake:
    track: ExpressionTrack
    action: str
    start_frame: float
    fps: float  # the scene's, when it was baked


_TAKES: dict[str, LastTake] = {}  # mesh object name -> the last take baked on it in this session
PROGRESS: dict[str, str] = {}  # "text" while a preview renders from the UI (the panel shows it)


@bpy.app.handlers.persistent
def forget_takes(*_args) -> None:
    """Another file is loading (or a new one starts): its objects are not the ones the takes were
    baked on, even where the names match."""
    _TAKES.clear()


def remember_take(obj_name: str, track, action: str, start_frame: float, fps: float) -> None:
    _TAKES[obj_name] = LastTake(track, action, float(start_frame), float(fps))


def last_take(obj) -> LastTake | None:
    return _TAKES.get(obj.name) if obj is not None else None


@dataclass
class Plan:
    """Scene frames first..first+count-1; one is rendered every ``step``, the frames after it hold it."""

    first: int
    count: int
    step: int
    times: np.ndarray  # take seconds of the rendered frames

    def shown_by(self, k: int) -> range:
        """The scene frames that show rendered frame ``k``."""
        return range(self.first + k * self.step, self.first + min((k + 1) * self.step, self.count))


def plan_frames(take: LastTake, step: int) -> Plan:
    duration = take.track.num_frames / take.track.fps
    first = int(math.ceil(take.start_frame - 1e-6))
    count = max(1, int(math.floor((take.start_frame + duration * take.fps) - first + 1e-6)))
    step = max(1, step)
    times = np.array([(first + i - take.start_frame) / take.fps for i in range(0, count, step)], dtype=np.float64)
    return Plan(first, count, step, np.clip(times, 0.0, duration))


def read_character(path: Path) -> np.ndarray:
    """(H, W, 4) uint8 of a picture, read by Blender; one line when it cannot be read."""
    if not path.is_file():
        raise TalkclipError(f"{path}: character image: no such file")
    try:
        img = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as exc:
        raise TalkclipError(f"{path}: cannot read image ({' '.join(str(exc).split())[:120]})") from None
    try:
        w, h = img.size
        if w == 0 or h == 0:
            raise TalkclipError(f"{path}: cannot read image (no pixels)")
        px = np.empty(w * h * 4, np.float32)
        img.pixels.foreach_get(px)
    finally:
        bpy.data.images.remove(img)
    return np.flipud(np.rint(px.reshape(h, w, 4) * 255.0).astype(np.uint8))  # Blender's rows run bottom-up


def load_character(path: Path) -> np.ndarray:
    """A picture read by Blender and checked against THA3's layout, in the network's form (as
    ``tha3_onnx.load_character`` reads one with Pillow)."""
    from talkclip_model.render.tha3_onnx import check_layout, to_network

    rgba = read_character(path)
    check_layout(rgba, path)
    return to_network(rgba)


def new_folder(action: str) -> Path:
    """A folder no earlier preview uses: //talkclip_preview/<action>, then <action>.001, ..."""
    base = Path(bpy.path.abspath("//talkclip_preview")) if bpy.data.filepath else \
        Path(tempfile.gettempdir()) / "talkclip_preview"
    name = bpy.path.clean_name(action) or "take"
    for n in range(1000):
        folder = base / (name if n == 0 else f"{name}.{n:03d}")
        if not folder.exists() and not folder.with_name(folder.name + ".partial").exists():
            return folder
    raise TalkclipError(f"{base}: too many previews of {action}; delete some")


class Render:
    """One preview: the character read and checked (main thread, through bpy), then ``run`` renders
    and writes the frames (a thread from the UI) into a ``.partial`` folder, renamed into place by
    ``finish``; a cancelled or failed one leaves nothing."""

    def __init__(self, take: LastTake, image_path: Path, step: int, providers: list[str] | None):
        # onnxruntime and the renderer load in ``run``, never at registration or on the UI thread
        from exporters.preview import sample_track
        from talkclip_model.render.tha3_onnx import Tha3Renderer

        self.renderer_class, self.providers = Tha3Renderer, providers
        self.image = load_character(image_path)
        self.take, self.plan = take, plan_frames(take, step)
        self.arkit, self.head = sample_track(take.track, self.plan.times)
        self.folder = new_folder(take.action)
        self.partial = self.folder.with_name(self.folder.name + ".partial")
        self.partial.mkdir(parents=True)
        self.cancelled = threading.Event()
        self.rendered = 0

    def run(self) -> None:
        """Render every planned frame and write it for each scene frame that shows it; stops at
        ``cancelled`` and then, or on a failure, removes the partial folder."""
        from exporters.png import write_png

        complete = False
        try:
            renderer = self.renderer_class(self.providers, threads=max(1, (os.cpu_count() or 2) - 1))  # a core for the UI
            for k in range(len(self.plan.times)):
                if self.cancelled.is_set():
                    return
                rgba = renderer.render(self.image, self.arkit[k], self.head[k])
                frames = self.plan.shown_by(k)
                first = self.partial / f"{FRAME_PREFIX}{frames[0]:05d}.png"
                write_png(first, rgba)
                for frame in frames[1:]:  # the scene frames between renders hold the frame
                    shutil.copyfile(first, self.partial / f"{FRAME_PREFIX}{frame:05d}.png")
                self.rendered = k + 1
            complete = True
        finally:
            if not complete:
                shutil.rmtree(self.partial, ignore_errors=True)

    def finish(self, context) -> tuple[Path, bpy.types.Object]:
        os.replace(self.partial, self.folder)
        return self.folder, show_sequence(context, self.folder, self.plan, self.take)

    def abandon(self) -> None:
        self.cancelled.set()
        shutil.rmtree(self.partial, ignore_errors=True)  # a thread still writing removes it again when it stops


def _place(empty, target) -> None:
    """Stand the picture beside the face, facing the front view, as tall as the face."""
    from mathutils import Euler, Vector

    if target is None:
        return
    corners = [target.matrix_world @ Vector(c) for c in target.bound_box]
    lo = Vector(tuple(min(c[i] for c in corners) for i in range(3)))
    hi = Vector(tuple(max(c[i] for c in corners) for i in range(3)))
    height = max(hi.z - lo.z, 1e-3)
    empty.empty_display_size = height
    empty.location = (hi.x + 0.6 * height, (lo.y + hi.y) / 2, (lo.z + hi.z) / 2)
    empty.rotation_euler = Euler((math.pi / 2, 0.0, 0.0))


def show_sequence(context, folder: Path, plan: Plan, take: LastTake):
    """The frames as an image sequence on the ``TalkCLIP preview`` image empty (made once, then reused)."""
    first_file = folder / f"{FRAME_PREFIX}{plan.first:05d}.png"
    image = bpy.data.images.load(str(first_file), check_existing=False)
    image.source = "SEQUENCE"
    image.name = f"{EMPTY_NAME} {take.action}"
    empty = next((o for o in bpy.data.objects if o.get(OWNED) and o.type == "EMPTY"), None)
    if empty is None:
        empty = bpy.data.objects.new(EMPTY_NAME, None)
        empty[OWNED] = True
        empty.empty_display_type = "IMAGE"
        context.scene.collection.objects.link(empty)
        target = context.scene.talkclip.target_object(context)
        _place(empty, target)
    empty.data = image
    user = empty.image_user
    user.frame_start = plan.first
    user.frame_offset = plan.first - 1  # frame_<first>.png shows at scene frame <first>
    user.frame_duration = plan.count
    user.use_auto_refresh = True
    user.use_cyclic = False
    return empty


def _renderer_settings(context) -> list[str] | None:
    from .operators import pipeline_settings

    return pipeline_settings(context)[1]


def start(context) -> Render:
    s = context.scene.talkclip
    obj = s.target_object(context)
    take = last_take(obj)
    if take is None:
        raise TalkclipError("no take to preview: generate one on this face first (the preview uses the take "
                            "generated in this Blender session)")
    if not s.preview_image.strip():
        raise TalkclipError("no character image: pick a 512x512 PNG with a transparent background (docs/preview.md)")
    return Render(take, Path(bpy.path.abspath(s.preview_image)), s.preview_step, _renderer_settings(context))


class RenderThread(threading.Thread):
    """``Render.run`` off the UI thread: the network and the PNG encoding release the GIL."""

    def __init__(self, job: Render):
        super().__init__(daemon=True, name="talkclip-preview")
        self.job = job
        self.error: str | None = None

    def run(self):
        from talkclip_model.errors import one_line

        try:
            self.job.run()
        except Exception as exc:  # reported by the operator on the main thread
            self.error = one_line(exc)


class TALKCLIP_OT_preview_image(bpy.types.Operator):
    """Render the last take on the character image (neural preview) as an image sequence you can scrub"""

    bl_idname = "talkclip.preview_image"
    bl_label = "Preview on Image"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        if last_take(context.scene.talkclip.target_object(context)) is None:
            cls.poll_message_set("Generate a take on this face first")
            return False
        return True

    def _done(self, context, job: Render) -> set:
        folder, empty = job.finish(context)
        n = len(job.plan.times)
        context.scene.talkclip.status = f"preview: {n} frames in {folder}"
        self.report({"INFO"}, f"TalkCLIP preview: {n} frames rendered, {job.plan.count} scene frames "
                              f"in {folder}; shown on '{empty.name}'")
        return {"FINISHED"}

    def execute(self, context):  # blocking: scripts and background mode
        job = None
        try:
            job = start(context)
            job.run()
            return self._done(context, job)
        except Exception as exc:
            if job is not None:
                job.abandon()
            from .operators import user_error

            return user_error(self, exc, context.scene.talkclip)

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        try:
            self._job = start(context)
        except Exception as exc:
            from .operators import user_error

            return user_error(self, exc, context.scene.talkclip)
        self._thread = RenderThread(self._job)
        self._thread.start()
        PROGRESS["text"] = "Preview: loading the renderer"
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _end(self, context, status: str | None) -> None:
        PROGRESS.clear()
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        if status is not None:
            context.scene.talkclip.status = status
        from .operators import redraw_panels

        redraw_panels(context)

    def modal(self, context, event):
        job, thread = self._job, self._thread
        if event.type == "ESC" and event.value == "PRESS":
            self.cancel(context)
            self.report({"WARNING"}, "TalkCLIP preview: cancelled, nothing was written")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        total = len(job.plan.times)
        if thread.error is not None:
            return self._fail(context, TalkclipError(thread.error))
        if thread.is_alive():
            status = f"Preview: frame {job.rendered}/{total}"
            if status != PROGRESS.get("text"):  # module state, not the scene's status: writing that
                PROGRESS["text"] = status        # would redraw the 3D view on every frame
                context.window_manager.progress_update(int(100 * job.rendered / total))
                context.workspace.status_text_set(f"TalkCLIP {status.lower()}  (Esc to cancel)")
                from .operators import redraw_panels

                redraw_panels(context)
            return {"PASS_THROUGH"}
        self._end(context, None)
        try:
            return self._done(context, job)
        except Exception as exc:
            return self._fail(context, exc, ended=True)

    def _fail(self, context, exc, ended: bool = False) -> set:
        self._job.abandon()
        if not ended:
            self._end(context, None)
        from .operators import user_error

        return user_error(self, exc, context.scene.talkclip)

    def cancel(self, context):  # Esc, window closed or file loaded while running
        self._job.abandon()  # the thread stops after the frame in flight and removes what it wrote
        self._end(context, "preview cancelled")


CLASSES = (TALKCLIP_OT_preview_image,)
