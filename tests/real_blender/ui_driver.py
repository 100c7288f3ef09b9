"""Drive Blender's real UI (not -b) through a TalkCLIP session, for tests/real_blender.

    DISPLAY=:N blender HEAD.blend -p 0 0 1600 900 --python ui_driver.py -- CONFIG.json

CONFIG (JSON): result (path of the JSON written back), shots (folder for the PNGs), object,
audio, transcript, long_audio, prompt, deadline_s.

Everything runs from ``bpy.app.timers``, one step at a time, so Blender's own event loop keeps
running between steps exactly as it does for an animator: the sidebar is opened on the TalkCLIP
tab and widened by dragging its edge (xdotool), the fields are filled, Generate is invoked the way
its button does (``INVOKE_DEFAULT`` in the window/area/region of the sidebar), undo is one
``ed.undo``, and a second Generate is cancelled with a real Esc key press (xdotool). A 20 ms timer
records the gaps between its ticks: a frozen UI shows as a long gap. Screenshots are
``import -window root`` (ImageMagick): Blender's own screenshot operator gives black images
under Xvfb. The result JSON is rewritten after every step, so a crash still says how far it got.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback

import bpy

CFG = json.load(open(sys.argv[sys.argv.index("--") + 1], encoding="utf-8"))
RESULT: dict = {"steps": [], "error": None, "finished": False, "shots": {}}
T0 = time.perf_counter()


def now() -> float:
    return time.perf_counter() - T0


def save() -> None:
    tmp = CFG["result"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(RESULT, fh, indent=1)
    os.replace(tmp, CFG["result"])


def step(name: str) -> None:
    RESULT["steps"].append([name, round(now(), 3)])
    save()


# --- 20 ms ticker: timestamps of every tick while recording -------------------------------------

TICKS: list[float] = []
RUNNING_TICKS: list[bool] = []  # whether a Generate was in flight at each tick


STATUSES: list[tuple[float, str]] = []  # (time, panel status) at every change
# the installed add-on's preview.PROGRESS (its module name depends on the extension repository)
PREVIEW_PROGRESS: list[dict] = []


def _find_preview_progress() -> None:
    PREVIEW_PROGRESS[:] = [m.PROGRESS for name, m in list(sys.modules.items()) if name.endswith(".preview")
                           and hasattr(m, "PROGRESS") and hasattr(m, "TALKCLIP_OT_preview_image")][:1]


def _tick():
    t = time.perf_counter()
    TICKS.append(t)
    RUNNING_TICKS.append(running())
    status = bpy.context.scene.talkclip.status
    if not PREVIEW_PROGRESS:
        _find_preview_progress()
    progress = PREVIEW_PROGRESS[0].get("text") if PREVIEW_PROGRESS else None
    if progress:  # Preview on Image keeps its per-frame progress out of the scene (module state)
        status = progress
    if not STATUSES or STATUSES[-1][1] != status:
        STATUSES.append((t, status))
    return 0.02


def settled(quiet_s=0.6, gap_s=0.1, max_wait_s=20.0):
    """A wait: until the ticker has run for ``quiet_s`` with no gap over ``gap_s`` (Blender idle:
    the software GL has compiled its shaders and finished redrawing), or ``max_wait_s``."""
    t0 = time.perf_counter()

    def idle():
        t = time.perf_counter()
        if t - t0 > max_wait_s:
            return True
        ts = [x for x in TICKS if x > t - quiet_s]
        return t - t0 > quiet_s and len(ts) > 2 and ts[0] - (t - quiet_s) < gap_s and \
            all(b - a < gap_s for a, b in zip(ts, ts[1:])) and t - ts[-1] < gap_s
    return idle


# what the UI redraws meanwhile: the 3D view's main region (slow with software GL) and its sidebar
DRAWS: dict[str, list[tuple[float, float]]] = {"view3d": [], "sidebar": []}
_DRAW_START: dict[str, float] = {}


def _draw_pre(kind):
    _DRAW_START[kind] = time.perf_counter()


def _draw_post(kind):
    t = time.perf_counter()
    DRAWS[kind].append((_DRAW_START.pop(kind, t), t))


def gaps_between(t_from: float, t_to: float) -> dict:
    """The 20 ms ticker between two moments: the longest gap (the UI did not run its timers),
    where the long gaps were (seconds after ``t_from``), and the redraws in that time."""
    marks = [(t, r) for t, r in zip(TICKS, RUNNING_TICKS) if t_from <= t <= t_to]
    ts = [t for t, _ in marks]
    pts = [t_from] + ts + [t_to]
    gaps = sorted(((b - a, a - t_from) for a, b in zip(pts, pts[1:])), reverse=True)
    # while the pipeline runs (both ticks saw Generate in flight) vs. the finish: the gap from the
    # last tick that saw it running to the first that did not holds the bake (or the cancel)
    running_gaps = [b[0] - a[0] for a, b in zip(marks, marks[1:]) if a[1] and b[1]]
    finish = next((b[0] - a[0] for a, b in zip(marks, marks[1:]) if a[1] and not b[1]), None)
    out = {"max_gap_s": round(gaps[0][0], 3) if gaps else 0.0,
           "max_gap_running_s": round(max(running_gaps, default=0.0), 3),
           "finish_gap_s": round(finish, 3) if finish is not None else None,
           "ticks": len(ts), "seconds": round(t_to - t_from, 3),
           "gaps_over_0_1_s": [[round(g, 3), round(at, 2)] for g, at in gaps if g > 0.1][:10]}
    out["statuses"] = [[round(t - t_from, 2), st] for t, st in STATUSES if t_from <= t <= t_to]
    for kind, spans in DRAWS.items():
        inside = [b - a for a, b in spans if t_from <= a <= t_to]
        out[f"{kind}_redraws"] = [len(inside), round(max(inside, default=0.0), 3)]
    return out


# --- the window, the 3D view and its regions ----------------------------------------------------

def window():
    return bpy.context.window_manager.windows[0]


def view3d():
    areas = [a for a in window().screen.areas if a.type == "VIEW_3D"]
    return max(areas, key=lambda a: a.width * a.height)


def region(area, kind):
    return next(r for r in area.regions if r.type == kind)


def override(area=None, region_type="WINDOW"):
    area = area or view3d()
    return bpy.context.temp_override(window=window(), screen=window().screen, area=area,
                                     region=region(area, region_type))


def redraw_all():
    for area in window().screen.areas:
        area.tag_redraw()


def to_screen(win, x, y):
    """Blender window coordinates (origin bottom-left) -> X screen coordinates (top-left)."""
    return int(win.x + x), int(win.y + win.height - y)


def xdo(*args) -> subprocess.Popen:
    return subprocess.Popen(["xdotool", *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def shot(name: str) -> subprocess.Popen:
    os.makedirs(CFG["shots"], exist_ok=True)
    path = os.path.join(CFG["shots"], name + ".png")
    RESULT["shots"][name] = path
    return subprocess.Popen(["import", "-window", "root", path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def done(proc):
    return lambda: proc.poll() is not None


# --- scene state ---------------------------------------------------------------------------------

def face():
    return bpy.data.objects[CFG["object"]]


def take_state() -> dict:
    key = face().data.shape_keys
    ad = key.animation_data
    action = ad.action if ad else None
    return {
        "action": action.name if action else None,
        "fcurves": len(action.fcurves) if action else 0,
        "nla_tracks": [[t.name, [s.action.name if s.action else None for s in t.strips]]
                       for t in (ad.nla_tracks if ad else [])],
        "talkclip_actions": sorted(a.name for a in bpy.data.actions if a.name.startswith("TalkCLIP")),
        "status": bpy.context.scene.talkclip.status,
        "running": bool(bpy.context.scene.talkclip.running),
    }


def running() -> bool:
    return bool(bpy.context.scene.talkclip.running)


def generate(label: str) -> dict:
    """Invoke Generate as its button does; returns timing and the operator's return set."""
    area = view3d()
    t = time.perf_counter()
    with override(area, "UI"):
        ret = bpy.ops.talkclip.generate("INVOKE_DEFAULT")
    info = {"return": sorted(ret), "invoke_s": round(time.perf_counter() - t, 3), "t_start": t,
            "t_start_wall": time.time() - (time.perf_counter() - t),
            "running_after_invoke": running()}
    RESULT[label] = info
    step(f"{label}: invoked {sorted(ret)}")
    return info


# --- the session ---------------------------------------------------------------------------------

def session():
    win = window()
    scene = bpy.context.scene
    area = view3d()
    RESULT["window"] = [win.x, win.y, win.width, win.height]
    # pointer over the 3D view: without a window manager, X gives the keyboard to the window
    # under the pointer
    cx, cy = to_screen(win, area.x + area.width * 0.4, area.y + area.height * 0.5)
    yield done(xdo("mousemove", cx, cy))

    # the 3D view maximised (Ctrl+Space) so the whole panel fits, front view of the head, sidebar
    # open on the TalkCLIP tab
    with override(area):
        bpy.ops.screen.screen_full_area()
    yield 0.5
    area = view3d()
    area.spaces.active.show_region_ui = True
    with override(area):
        bpy.ops.view3d.view_axis(type="FRONT")
    yield 0.5  # the sidebar gets its panel categories when it is first drawn
    ui = region(area, "UI")
    ui.active_panel_category = "TalkCLIP"
    RESULT["sidebar_category"] = ui.active_panel_category
    RESULT["sidebar_width_before"] = ui.width
    # widen the sidebar by dragging its left edge, as an animator does (the edge's action zone is
    # a few pixels inside the region). Blender must be idle first: while the software GL still
    # compiles shaders and redraws slowly, the press can miss the zone; so settle and retry.
    target = CFG.get("sidebar_width", 520)
    RESULT["sidebar_drags"] = []
    for _ in range(4):
        yield settled()
        ui = region(view3d(), "UI")
        if ui.width >= target - 20:
            break
        ex, ey = to_screen(win, ui.x + 7, ui.y + ui.height * 0.5)
        grow = target - ui.width
        yield done(xdo("mousemove", ex + 30, ey, "sleep", 0.3, "mousemove", ex, ey, "sleep", 0.4,
                       "mousemove", ex, ey + 2, "sleep", 0.4, "mousedown", 1, "sleep", 0.4,
                       "mousemove", ex - 30, ey, "sleep", 0.3, "mousemove", ex - grow, ey, "sleep", 0.4,
                       "mouseup", 1, "sleep", 0.2, "mousemove", cx, cy))
        yield 0.8
        RESULT["sidebar_drags"].append(region(view3d(), "UI").width)
    area = view3d()
    RESULT["sidebar_width"] = region(area, "UI").width
    with override(area):
        bpy.ops.view3d.view_selected()
    step("sidebar")

    # fill the panel
    s = scene.talkclip
    s.target = face()
    s.audio_source = "FILE"
    s.audio_path = CFG["audio"]
    s.transcript = CFG["transcript"]
    s.prompt = CFG["prompt"]
    with override(area):
        bpy.ops.ed.undo_push(message="TalkCLIP settings")  # what editing the fields by hand leaves
    RESULT["before"] = take_state()
    redraw_all()
    yield 0.8
    yield done(shot("blender_panel_before"))
    step("panel before")

    # idle baseline for the 20 ms ticker
    yield settled()
    t_idle = time.perf_counter()
    yield 1.5
    RESULT["idle"] = gaps_between(t_idle, time.perf_counter())

    # Generate with the transcript
    first = generate("first")
    yield lambda: not running() or time.perf_counter() - first["t_start"] > 120
    t_end = time.perf_counter()
    first.update(gaps_between(first["t_start"], t_end), wall_s=round(t_end - first["t_start"], 3))
    del first["t_start"], first["t_start_wall"]
    RESULT["after_first"] = take_state()
    step("first done")
    # the playhead on the take's widest jaw opening, so the face shows the take (brows knitted)
    scene = bpy.context.scene
    frame_before = scene.frame_current
    action = face().data.shape_keys.animation_data.action
    jaw = action.fcurves.find('key_blocks["jawOpen"].value') if action else None
    if jaw is not None and len(jaw.keyframe_points):
        scene.frame_set(int(max(jaw.keyframe_points, key=lambda kp: kp.co[1]).co[0]))
    RESULT["after_first_frame"] = scene.frame_current
    redraw_all()
    yield settled()
    yield done(shot("blender_panel_after"))
    scene.frame_set(frame_before)

    # the take in the Graph Editor (the big area, switched and back)
    area = view3d()
    area.type = "GRAPH_EDITOR"
    yield 0.3
    with override(area):
        try:
            bpy.ops.anim.channels_expand(all=True)
        except RuntimeError as exc:
            RESULT["graph_expand_error"] = str(exc)
        bpy.ops.graph.view_all()
    redraw_all()
    yield 0.8
    yield done(shot("blender_graph_editor"))
    area.type = "VIEW_3D"
    yield 0.3
    step("graph editor")

    # Preview on Image: the take rendered on a character picture off the UI thread, shown on an
    # image empty beside the head that follows the playhead
    if CFG.get("preview_image"):
        yield from preview_on_image()

    # one undo removes the whole bake
    with override(view3d()):
        RESULT["undo_return"] = sorted(bpy.ops.ed.undo())
    yield 0.5
    RESULT["after_undo"] = take_state()
    step("undo")

    # Generate without a transcript on a long clip, cancelled with Esc
    s = bpy.context.scene.talkclip
    s.transcript = ""
    s.audio_path = CFG["long_audio"]
    with override(view3d()):
        bpy.ops.ed.undo_push(message="TalkCLIP settings")
    RESULT["before_second"] = take_state()
    redraw_all()
    yield settled()  # the undo and the edited fields redraw first (the timings are Generate's own)
    second = generate("second")
    # The progress screenshot and the Esc key come from a process of their own, on its own clock:
    # a frozen Blender cannot delay them, so the latency below is what an animator would see.
    area, win = view3d(), window()
    cx, cy = to_screen(win, area.x + area.width * 0.4, area.y + area.height * 0.5)
    esc_file = CFG["result"] + ".esc"
    RESULT["shots"]["blender_progress"] = os.path.join(CFG["shots"], "blender_progress.png")
    helper = subprocess.Popen(
        ["sh", "-c", '(sleep 1; import -window root "$1") & sleep 3; date +%s.%N > "$2"; '
                     'xdotool mousemove "$3" "$4" key Escape; wait',
         "sh", RESULT["shots"]["blender_progress"], esc_file, str(cx), str(cy)])
    ended = {}

    def stopped():
        if "wall" not in ended and not running():
            ended["wall"], ended["perf"] = time.time(), time.perf_counter()
        return ("wall" in ended and helper.poll() is not None) or time.perf_counter() - second["t_start"] > 90

    yield stopped
    helper.wait(10)
    t_end = ended.get("perf", time.perf_counter())
    t_esc = float(open(esc_file).read()) if os.path.exists(esc_file) else None
    second["esc_sent"] = t_esc is not None
    second["stopped_before_esc"] = t_esc is not None and ended.get("wall", 0) < t_esc
    if t_esc is not None:
        second["esc_after_s"] = round(t_esc - second["t_start_wall"], 3)
        if "wall" in ended:  # when the UI showed the run had ended, to one 20 ms poll
            second["cancel_latency_s"] = round(ended["wall"] - t_esc, 3)
    second.update(gaps_between(second["t_start"], t_end), wall_s=round(t_end - second["t_start"], 3))
    del second["t_start"], second["t_start_wall"]
    RESULT["after_cancel"] = take_state()
    step("cancelled")
    redraw_all()
    yield 0.8
    yield done(shot("blender_cancelled"))
    step("end")


def preview_on_image():
    s = bpy.context.scene.talkclip
    s.preview_image = CFG["preview_image"]
    s.preview_step = CFG.get("preview_step", 6)
    yield settled()
    t = time.perf_counter()
    with override(view3d(), "UI"):
        ret = bpy.ops.talkclip.preview_image("INVOKE_DEFAULT")
    pv = {"return": sorted(ret), "invoke_s": round(time.perf_counter() - t, 3)}
    RESULT["preview"] = pv
    step(f"preview: invoked {sorted(ret)}")
    yield lambda: not s.status.startswith("preview: frame") and s.status.startswith(("preview", "failed")) \
        or time.perf_counter() - t > 150
    t_end = time.perf_counter()
    pv.update(gaps_between(t, t_end), wall_s=round(t_end - t, 3), status=s.status)
    empty = bpy.data.objects.get("TalkCLIP preview")
    if empty is not None and empty.data is not None:
        user = empty.image_user
        pv["empty"] = {"source": empty.data.source, "filepath": bpy.path.abspath(empty.data.filepath),
                       "frame_start": user.frame_start, "frame_offset": user.frame_offset,
                       "frame_duration": user.frame_duration, "auto_refresh": user.use_auto_refresh}
    step("preview done")
    # the playhead on the widest jaw opening: the head and the picture beside it, mouths open
    scene = bpy.context.scene
    action = face().data.shape_keys.animation_data.action
    jaw = action.fcurves.find('key_blocks["jawOpen"].value') if action else None
    if jaw is not None and len(jaw.keyframe_points):
        scene.frame_set(int(max(jaw.keyframe_points, key=lambda kp: kp.co[1]).co[0]))
    pv["frame"] = scene.frame_current
    with override(view3d()):
        bpy.ops.view3d.view_all()
    redraw_all()
    yield settled()
    yield done(shot("blender_preview_on_image"))
    step("preview shot")


# --- stepper -------------------------------------------------------------------------------------

GEN = session()
WAIT = [None]  # (deadline time) or a predicate


def _finish(error=None):
    RESULT["error"] = error
    RESULT["finished"] = error is None
    RESULT["total_s"] = round(now(), 3)
    save()
    try:
        bpy.app.timers.unregister(_tick)
    except Exception:
        pass
    try:
        with bpy.context.temp_override(window=window()):
            bpy.ops.wm.quit_blender()
    except Exception:
        os._exit(0 if error is None else 3)


def _stepper():
    try:
        if now() > CFG.get("deadline_s", 240):
            _finish(f"driver deadline ({CFG.get('deadline_s', 240)} s) passed at step "
                    f"{RESULT['steps'][-1][0] if RESULT['steps'] else 'start'}")
            return None
        wait = WAIT[0]
        if callable(wait) and not wait():
            return 0.02
        if isinstance(wait, float) and time.perf_counter() < wait:
            return 0.02
        nxt = next(GEN)
        WAIT[0] = time.perf_counter() + float(nxt) if isinstance(nxt, (int, float)) else nxt
        return 0.02
    except StopIteration:
        _finish()
    except Exception:
        _finish(traceback.format_exc())
    return None


def _start():
    step("start")
    bpy.app.timers.register(_tick, first_interval=0.02, persistent=True)
    # the 3D view's draw time (PRE_VIEW to POST_PIXEL); the sidebar only counts its redraws
    for kind, region_type, first in (("view3d", "WINDOW", "PRE_VIEW"), ("sidebar", "UI", "POST_PIXEL")):
        bpy.types.SpaceView3D.draw_handler_add(_draw_pre, (kind,), region_type, first)
        bpy.types.SpaceView3D.draw_handler_add(_draw_post, (kind,), region_type, "POST_PIXEL")
    bpy.app.timers.register(_stepper, first_interval=0.1, persistent=True)
    return None


bpy.app.timers.register(_start, first_interval=1.0, persistent=True)
