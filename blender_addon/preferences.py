"""Add-on preferences: text encoder, onnxruntime device, cache folder, Whisper model folder. ``__package__`` is the id,
so the same code works as ``blender_addon`` (repository) and ``bl_ext.<repo>.talkclip``."""

from __future__ import annotations

import os
from pathlib import Path

import bpy

# where the encoder module reads its cache folder and the shipped models (cheap: no onnxruntime)
from talkclip_model.speech.whisper import ENV_MODEL as WHISPER_ENV
from talkclip_model.style.encoders import CACHE_ENV, MODELS_ENV

ADDON_ID = __package__
BUNDLED_MODELS = Path(__file__).resolve().parent / "models"  # written by build_addon.py
_USER_WHISPER = os.environ.get(WHISPER_ENV)  # set before Blender started: it wins over the preference


def default_cache_dir() -> Path | None:
    """Cache under the extension's user folder (never inside the add-on folder); None when
    running from the repository, where talkclip's own default cache applies."""
    try:
        return Path(bpy.utils.extension_path_user(ADDON_ID, path="cache", create=True))
    except (ValueError, RuntimeError, TypeError, OSError):  # not installed as an extension
        return None


class TalkclipPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    encoder: bpy.props.EnumProperty(
        name="Text encoder",
        items=(("MINILM", "MiniLM (bundled)", "The sentence encoder shipped with the add-on"),
               ("CLIP", "CLIP", "CLIP text tower from a weights file (needs torch + open_clip)")),
        default="MINILM")
    clip_weights: bpy.props.StringProperty(name="CLIP weights", subtype="FILE_PATH",
                                           description="CLIP weights file used when the encoder is CLIP")
    device: bpy.props.EnumProperty(
        name="Device",
        items=(("CPU", "CPU", "onnxruntime on the CPU"),
               ("CUDA", "CUDA", "onnxruntime on an NVIDIA GPU when available; falls back to the CPU")),
        default="CPU")
    cache_dir: bpy.props.StringProperty(name="Cache folder", subtype="DIR_PATH",
                                        description="Where generated data is cached; empty: the extension's user folder")
    whisper_model: bpy.props.StringProperty(
        name="Whisper model", subtype="DIR_PATH",
        description="A faster-whisper model folder (model.bin, config.json, tokenizer.json), for lines without a "
                    "transcript; empty: the Hugging Face cache (hf download Systran/faster-whisper-tiny.en). "
                    "Nothing is downloaded")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "encoder")
        if self.encoder == "CLIP":
            layout.prop(self, "clip_weights")
        layout.prop(self, "device")
        layout.prop(self, "cache_dir")
        if not self.cache_dir:
            layout.label(text=f"Default: {default_cache_dir() or 'talkclip user cache'}", icon="INFO")
        layout.prop(self, "whisper_model")


def get(context=None):
    """This add-on's preferences, or None when it is not enabled through Blender."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID) if context.preferences else None
    return addon.preferences if addon else None


def cache_dir(context=None) -> Path | None:
    prefs = get(context)
    if prefs is not None and prefs.cache_dir:
        return Path(bpy.path.abspath(prefs.cache_dir))
    return default_cache_dir()


def prepare_cache(context=None) -> Path | None:
    """Point the model cache at the preference / the extension's user folder (unless the user
    set TALKCLIP_CACHE), the encoder at the models the extension ships, read in place (unless
    TALKCLIP_MODELS is set), and Whisper at the preference's model folder (unless
    TALKCLIP_WHISPER_MODEL was set before Blender started). The environment carries them to the
    worker process."""
    if BUNDLED_MODELS.is_dir():
        os.environ.setdefault(MODELS_ENV, str(BUNDLED_MODELS))
    folder = cache_dir(context)
    if folder is not None:
        os.environ.setdefault(CACHE_ENV, str(folder))
    prefs = get(context)
    if _USER_WHISPER is None and prefs is not None:  # the preference as it is now, for each Generate
        if prefs.whisper_model:
            os.environ[WHISPER_ENV] = bpy.path.abspath(prefs.whisper_model)
        else:
            os.environ.pop(WHISPER_ENV, None)
    return folder


def pipeline_settings(context=None) -> tuple[str | None, list[str] | None]:
    """(encoder, onnxruntime providers) for ``Pipeline``; (None, None) means the defaults."""
    prefs = get(context)
    if prefs is None:
        return None, None
    encoder = None
    if prefs.encoder == "CLIP" and prefs.clip_weights:
        encoder = bpy.path.abspath(prefs.clip_weights)
    elif prefs.encoder == "CLIP":
        encoder = "clip"
    providers = (["CUDAExecutionProvider", "CPUExecutionProvider"] if prefs.device == "CUDA"
                 else ["CPUExecutionProvider"])
    return encoder, providers
