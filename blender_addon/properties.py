"""Per-scene settings of the TalkCLIP panel (``scene.talkclip``)."""

from __future__ import annotations

import bpy

from talkclip_model.speech.languages import LANGUAGES

# the Language menu: BCP-47 code, shown name, tooltip
LANGUAGE_ITEMS = tuple((code, f"{lang.name} ({code})",
                        "English: the pronunciation dictionary" if code == "en" else
                        f"{lang.name}: words read by espeak-ng" + (" (kana only)" if code == "ja" else ""))
                       for code, lang in LANGUAGES.items())


def _is_mesh(self, obj):
    return obj.type == "MESH"


def _is_armature(self, obj):
    return obj.type == "ARMATURE"


class TalkclipEdit(bpy.types.PropertyGroup):
    """One weighted edit prompt: ``weight * "text"`` added to the style."""

    text: bpy.props.StringProperty(name="Edit", description="A style edit, e.g. 'smiling' or 'tired eyes'")
    weight: bpy.props.FloatProperty(name="Weight", default=0.5, soft_min=-1.0, soft_max=1.0,
                                    description="How much of this edit; negative removes it")


class TalkclipSettings(bpy.types.PropertyGroup):
    target: bpy.props.PointerProperty(name="Face", type=bpy.types.Object, poll=_is_mesh,
                                      description="Mesh whose shape keys receive the animation "
                                                  "(empty: the active object)")
    profile: bpy.props.StringProperty(name="Profile", default="auto",
                                      description="Retarget profile: 'auto' detects it from the shape key "
                                                  "names; or a profile name or JSON file")
    armature: bpy.props.PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature,
                                        description="Optional armature for head rotation")
    head_bone: bpy.props.StringProperty(name="Head bone", description="Pose bone that receives head rotation")

    audio_source: bpy.props.EnumProperty(
        name="Audio", items=(("FILE", "File", "An audio file on disk"),
                             ("STRIP", "Sound strip", "A sound strip in the Video Sequencer")),
        default="FILE")
    audio_path: bpy.props.StringProperty(name="Audio file", subtype="FILE_PATH",
                                         description="Dialogue recording (WAV, FLAC, OGG, MP3)")
    sound_strip: bpy.props.StringProperty(name="Sound strip", description="Sound strip holding the dialogue")
    transcript: bpy.props.StringProperty(name="Transcript",
                                         description="What is said (optional; makes lip sync more accurate)")
    language: bpy.props.EnumProperty(name="Language", items=LANGUAGE_ITEMS, default="en",
                                     description="Language of the speech and transcript (other languages "
                                                 "than English need espeak-ng)")

    prompt: bpy.props.StringProperty(name="Style", default="",
                                     description="Speaking style in plain English, e.g. 'calm, slightly amused'")
    intensity: bpy.props.FloatProperty(name="Intensity", default=1.0, min=0.0, soft_max=2.0, max=3.0)
    edits: bpy.props.CollectionProperty(type=TalkclipEdit)
    edit_index: bpy.props.IntProperty(default=0)
    use_markers: bpy.props.BoolProperty(name="Style markers", default=True,
                                        description="Timeline markers named 'style: <prompt>' change the style "
                                                    "from that frame on")
    use_fixed_seed: bpy.props.BoolProperty(name="Fixed seed", default=False,
                                           description="Use this seed for blinks, gaze, brows and head motion. "
                                                       "Off: each take seeds itself from its audio (different lines "
                                                       "differ, the same line repeats); the field then shows the "
                                                       "seed of the last take, so ticking this repeats it")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0,
                                description="Seed for blinks, gaze, brows and head motion (with Fixed seed)")

    use_start_frame: bpy.props.BoolProperty(name="Custom start", default=False,
                                            description="Start at a chosen frame instead of the sound strip's "
                                                        "start (or the current frame)")
    start_frame: bpy.props.IntProperty(name="Start frame", default=1)

    reduce_keys: bpy.props.BoolProperty(name="Reduce keys", default=False,
                                        description="Drop keys that straight lines between neighbours reproduce")
    tolerance: bpy.props.FloatProperty(name="Tolerance", default=0.01, min=0.0001, max=0.2, precision=4)
    bake_layers: bpy.props.BoolProperty(name="Layer actions", default=False,
                                        description="Also bake each layer (lips, expression, ...) to its own "
                                                    "muted NLA track")

    preview_image: bpy.props.StringProperty(
        name="Character image", subtype="FILE_PATH",
        description="512x512 PNG of the character with a transparent background, head in the upper middle "
                    "(docs/preview.md): Preview on Image renders the last take on it")
    preview_step: bpy.props.IntProperty(name="Every", default=2, min=1, max=12,
                                        description="Render one preview frame every this many scene frames "
                                                    "(the frames between hold it)")

    # last outcome shown in the panel ("baked <action>", "failed: <reason>", a progress stage);
    # whether a run is in flight is module state (operators.is_running)
    status: bpy.props.StringProperty(name="Status")
    running: bpy.props.BoolProperty(name="Running")

    def target_object(self, context):
        return self.target or (context.active_object if context.active_object
                               and context.active_object.type == "MESH" else None)

    def edit_pairs(self) -> list[tuple[str, float]]:
        return [(e.text, e.weight) for e in self.edits if e.text.strip()]


CLASSES = (TalkclipEdit, TalkclipSettings)


def register():
    bpy.types.Scene.talkclip = bpy.props.PointerProperty(type=TalkclipSettings)


def unregister():
    del bpy.types.Scene.talkclip
