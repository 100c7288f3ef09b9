"""The TalkCLIP sidebar panel (3D viewport > N > TalkCLIP). Drawing stays cheap: the only work
is the retarget detection, cached per shape-key name list, and the take's start frame (a property
or one strip lookup)."""

from __future__ import annotations

import textwrap

import bpy

from . import operators, preview
from .binding import bind

_DETECTIONS: dict = {}  # (names, profile) -> (ok, one-line text)
CHAR_WIDTH_PX = 7  # average label character width at UI scale 1


def detection_text(obj, profile: str) -> tuple[bool, str]:
    """(ok, 'profile: 51/52 ARKit channels -> 53 shape keys') for the panel, cached."""
    key_data = obj.data.shape_keys if obj and obj.type == "MESH" else None
    if key_data is None:
        return False, "no shape keys: nothing to animate"
    names = tuple(kb.name for kb in key_data.key_blocks[1:])
    cache_key = (names, profile)
    if cache_key not in _DETECTIONS:
        try:
            binding = bind(names, None if profile in ("", "auto") else profile)
            _DETECTIONS[cache_key] = (True, binding.describe())
        except Exception as exc:  # shown, never raised while drawing
            _DETECTIONS[cache_key] = (False, " ".join(str(exc).split()))
        if len(_DETECTIONS) > 64:
            _DETECTIONS.pop(next(iter(_DETECTIONS)))
    return _DETECTIONS[cache_key]


def wrap_lines(text: str, width_px: float, ui_scale: float = 1.0, max_lines: int = 10) -> list[str]:
    """``text`` as label lines that fit a region ``width_px`` wide: a label cuts a long line
    short, and a failure reason must stay readable."""
    chars = max(16, int(width_px / (CHAR_WIDTH_PX * ui_scale)) - 4)
    return textwrap.wrap(text, chars, break_on_hyphens=False, max_lines=max_lines, placeholder=" ...") or [""]


def start_text(scene) -> str:
    frame, why = operators.take_start(scene)
    if frame is None:
        return "Starts at the sound strip's start: pick a strip"
    return f"Starts at frame {frame:g} ({why})"


def _draw_character(layout, s, obj) -> None:
    box = layout.box()
    box.label(text="Character", icon="SHAPEKEY_DATA")
    box.prop(s, "target")
    if obj is None:
        box.label(text="Select the face mesh", icon="ERROR")
    else:
        if s.target is None:
            box.label(text=f"Using active object {obj.name}", icon="INFO")
        box.prop(s, "profile")
        ok, text = detection_text(obj, s.profile.strip())
        box.label(text=text, icon="CHECKMARK" if ok else "ERROR")
    box.prop(s, "armature")
    if s.armature is not None and s.armature.type == "ARMATURE":
        box.prop_search(s, "head_bone", s.armature.data, "bones")


def _draw_audio(layout, s, scene) -> None:
    box = layout.box()
    box.label(text="Audio", icon="SOUND")
    box.row().prop(s, "audio_source", expand=True)
    if s.audio_source == "FILE":
        box.prop(s, "audio_path", text="")
    elif scene.sequence_editor is not None:
        ed = scene.sequence_editor
        box.prop_search(s, "sound_strip", ed, "strips_all" if hasattr(ed, "strips_all") else "sequences_all",
                        text="Strip")
    else:
        box.label(text="No sound strips in this scene", icon="ERROR")
    box.prop(s, "transcript")
    box.prop(s, "language")


def _draw_style(layout, s) -> None:
    box = layout.box()
    box.label(text="Style", icon="OUTLINER_OB_LIGHT")
    box.prop(s, "prompt", text="")
    box.prop(s, "intensity", slider=True)
    row = box.row()
    row.template_list("TALKCLIP_UL_edits", "", s, "edits", s, "edit_index", rows=2)
    col = row.column(align=True)
    col.operator("talkclip.edit_add", icon="ADD", text="")
    col.operator("talkclip.edit_remove", icon="REMOVE", text="")
    box.prop(s, "use_markers")


def _draw_toggled(box, s, toggle: str, name: str, **kwargs) -> None:
    """A row with the ``toggle`` checkbox and ``name``, which is greyed out while the toggle is off."""
    row = box.row(align=True)
    row.prop(s, toggle)
    sub = row.row()
    sub.enabled = getattr(s, toggle)
    sub.prop(s, name, **kwargs)


def _draw_bake(layout, s, scene) -> None:
    box = layout.box()
    box.label(text="Bake", icon="ACTION")
    _draw_toggled(box, s, "use_start_frame", "start_frame", text="")
    box.label(text=start_text(scene), icon="TIME")
    _draw_toggled(box, s, "reduce_keys", "tolerance")
    box.prop(s, "bake_layers")
    _draw_toggled(box, s, "use_fixed_seed", "seed")


def _draw_run(layout, context, s) -> None:
    layout.operator("talkclip.preview_style", icon="HIDE_OFF")
    row = layout.row()
    row.scale_y = 1.5
    row.enabled = not operators.is_running()  # module state: a saved flag could stick after a crash
    row.operator("talkclip.generate", icon="PLAY")
    if s.status:
        width = context.region.width if context.region else 300
        failed = s.status.startswith("failed")
        col = layout.column(align=True)
        for i, line in enumerate(wrap_lines(s.status, width, context.preferences.view.ui_scale)):
            col.label(text=line, icon=("ERROR" if i == 0 else "BLANK1") if failed else "NONE")


def _draw_preview(layout, s) -> None:
    box = layout.box()
    box.label(text="Neural preview", icon="IMAGE_DATA")
    box.prop(s, "preview_image", text="")
    row = box.row(align=True)
    row.prop(s, "preview_step", text="Every")
    row.label(text="frames")
    row = box.row()
    row.enabled = not preview.PROGRESS
    row.operator("talkclip.preview_image", icon="RENDER_ANIMATION")
    if preview.PROGRESS:
        box.label(text=f"{preview.PROGRESS['text']} (Esc to cancel)", icon="TIME")


class TALKCLIP_UL_edits(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        row.prop(item, "text", text="", emboss=False, placeholder="edit prompt")
        row.prop(item, "weight", text="")


class TALKCLIP_PT_main(bpy.types.Panel):
    bl_label = "TalkCLIP"
    bl_idname = "TALKCLIP_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "TalkCLIP"

    def draw(self, context):
        layout = self.layout
        s = context.scene.talkclip
        _draw_character(layout, s, s.target_object(context))
        _draw_audio(layout, s, context.scene)
        _draw_style(layout, s)
        _draw_bake(layout, s, context.scene)
        _draw_run(layout, context, s)
        _draw_preview(layout, s)


CLASSES = (TALKCLIP_UL_edits, TALKCLIP_PT_main)
