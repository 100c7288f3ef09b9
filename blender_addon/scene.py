"""Gather what a take needs from a Blender scene: the target mesh and its shape keys, sound
strips, the scene frame rate (fps / fps_base, so 29.97 is exact) and style markers.

Every check raises TalkclipError with one line that names the object and the problem; the add-on
shows it as a report and the batch writes it into its report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import bpy

from talkclip_model.errors import TalkclipError

# What talkclip_model.speech.audio reads (libsndfile + mp3); Blender strips can hold more (ffmpeg).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".opus")
STYLE_MARKER = re.compile(r"^\s*style\s*:\s*(.*\S)\s*$", re.IGNORECASE)


def scene_fps(scene) -> float:
    """Frames per second of ``scene``; 30000/1001 for 29.97 (fps 30, fps_base 1.001)."""
    return scene.render.fps / scene.render.fps_base


def _editable(id_data, what: str) -> None:
    if id_data is None:
        return
    if getattr(id_data, "library", None) is not None:
        raise TalkclipError(f"{what} {id_data.name!r} is linked from library "
                            f"{Path(id_data.library.filepath).name}: make it local or override it first")
    override = getattr(id_data, "override_library", None)
    if override is not None and getattr(override, "is_system_override", False):
        raise TalkclipError(f"{what} {id_data.name!r} is a non-editable library override: make it editable first")


def check_target(obj) -> None:
    """A mesh object we may key: exists, is a mesh, has shape keys, is not linked."""
    if obj is None:
        raise TalkclipError("no object selected: pick the character's face mesh")
    if obj.type != "MESH":
        raise TalkclipError(f"object {obj.name!r} is a {obj.type.lower()}, not a mesh with shape keys")
    _editable(obj, "object")
    _editable(obj.data, "mesh")
    key = obj.data.shape_keys
    if key is None or len(key.key_blocks) < 2:
        raise TalkclipError(f"mesh {obj.name!r} has no shape keys to animate")
    _editable(key, "shape keys of")
    ad = key.animation_data
    if ad is not None and ad.use_tweak_mode:
        raise TalkclipError(f"shape keys of {obj.name!r} are in NLA tweak mode: leave tweak mode first")


def shape_key_names(obj) -> list[str]:
    """Shape key names of a mesh object, without its reference (basis) key."""
    key = getattr(getattr(obj, "data", None), "shape_keys", None)
    if key is None:
        return []
    ref = key.reference_key.name if key.reference_key else None
    return [kb.name for kb in key.key_blocks if kb.name != ref]


def check_head_bone(armature, bone_name: str):
    """The pose bone that receives head rotation."""
    if armature is None or armature.type != "ARMATURE":
        raise TalkclipError(f"{getattr(armature, 'name', 'nothing')!r} is not an armature")
    _editable(armature, "armature")
    bone = armature.pose.bones.get(bone_name) if armature.pose else None
    if bone is None:
        raise TalkclipError(f"armature {armature.name!r} has no bone {bone_name!r}")
    return bone


def strips_collection_name(editor) -> str:
    """``strips_all`` (Blender 4.4+) or ``sequences_all`` (4.2, 4.3)."""
    return "strips_all" if hasattr(editor, "strips_all") else "sequences_all"


@dataclass(frozen=True)
class SoundStrip:
    name: str
    path: Path
    frame_start: float


def sound_strips(scene) -> list[SoundStrip]:
    """Sound strips in the Video Sequencer (meta strips included), by start frame."""
    ed = scene.sequence_editor
    if ed is None:
        return []
    found = []
    for strip in getattr(ed, strips_collection_name(ed)):
        if strip.type == "SOUND" and strip.sound is not None:
            path = Path(bpy.path.abspath(strip.sound.filepath, library=strip.sound.library))
            found.append(SoundStrip(strip.name, path, float(strip.frame_start)))
    return sorted(found, key=lambda s: (s.frame_start, s.name))


def check_audio_file(path: str | Path, what: str = "audio") -> Path:
    """An existing audio file of a format the pipeline decodes."""
    if not str(path).strip():
        raise TalkclipError(f"{what}: no audio file given")
    p = Path(bpy.path.abspath(str(path)))
    if not p.is_file():
        raise TalkclipError(f"{what}: audio file {p} does not exist")
    if p.suffix.lower() not in AUDIO_SUFFIXES:
        raise TalkclipError(f"{what}: {p.name} uses an unsupported audio format ({p.suffix or 'no suffix'}); "
                            f"convert it to WAV or FLAC")
    return p


def strip_audio(scene, name: str) -> SoundStrip:
    for s in sound_strips(scene):
        if s.name == name:
            ed = scene.sequence_editor
            strip = getattr(ed, strips_collection_name(ed))[name]
            if strip.sound.packed_file is not None and not s.path.is_file():
                raise TalkclipError(f"sound strip {name!r} holds packed audio: unpack it (File > External Data)")
            check_audio_file(s.path, f"sound strip {name!r}")
            return s
    raise TalkclipError(f"no sound strip named {name!r} in scene {scene.name!r}")


def style_schedule(scene, start_frame: float) -> list[tuple[float, str]]:
    """Timeline markers named ``style: <prompt>`` as [(seconds after start_frame, prompt)]."""
    fps = scene_fps(scene)
    out = []
    for m in scene.timeline_markers:
        hit = STYLE_MARKER.match(m.name)
        if hit and m.frame >= start_frame:
            out.append(((m.frame - start_frame) / fps, hit.group(1)))
    return sorted(out)
