"""One take, from settings to keys: the steps the panel's Generate and the headless batch share.

    req = build_request(scene, obj, audio, ...)   # checks the scene, then plain values only
    track = generate_track(pipeline, req)         # no bpy: a worker thread may run it
    summary = bake_request(scene, req, track)     # main thread: shape keys, then the head bone

The panel gathers its settings (``operators.gather_request``) and the batch a manifest row
(``batch.job_request``); both hand them to ``build_request``, so a take is checked and described
the same way whichever front end asks. Generate from the UI runs the pipeline in a worker
process (``talkclip_cli.worker``, fed ``worker_request(req)``), scripts and the batch run
``generate_track`` in this process; every front end bakes with ``bake_request``.

``talkclip_model.pipeline`` is imported inside ``shared_pipeline`` and ``generate_track``: it
loads the style vocabulary and the speech front end, and registering the extension (which
imports this module) must stay cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy

from talkclip_model.errors import TalkclipError
from talkclip_model.speech.languages import resolve as resolve_language

from .bake import BakeSummary, bake_head, bake_shape_keys
from .binding import ChannelBinding, bind
from .scene import (
    check_head_bone,
    check_target,
    scene_fps,
    shape_key_names,
    style_schedule,
)

_PIPELINES: dict = {}  # (encoder, providers) -> Pipeline: the models load once per session


def shared_pipeline(encoder: str | None = None, providers: list[str] | None = None):
    """The Pipeline for ``encoder`` and onnxruntime ``providers``, loaded once per session."""
    key = (encoder, tuple(providers or ()))
    if key not in _PIPELINES:
        from talkclip_model.pipeline import Pipeline

        _PIPELINES[key] = Pipeline(encoder=encoder, providers=providers)
    return _PIPELINES[key]


@dataclass(frozen=True)
class Request:
    """Everything one take needs, gathered on the main thread into plain values."""

    target: str  # mesh object whose shape keys are keyed
    audio: Path | None  # None only when the batch bakes an existing track file
    take: str  # names the actions (TalkCLIP_<take>)
    start_frame: float
    fps: float  # the scene's, so frames land on scene frames
    prompt: str | None
    intensity: float
    transcript: str | None
    seed: int | None  # None: the pipeline seeds the take from its audio
    schedule: tuple[tuple[float, str], ...] = ()  # style markers: (seconds after the start, prompt)
    profile: str | None = None  # retarget profile; None detects
    armature: str | None = None  # armature object whose head_bone gets the head rotation
    head_bone: str | None = None
    tolerance: float = 0.0  # key reduction; 0 keys every frame
    layers: bool = False  # also bake each track layer as a muted NLA track
    language: str = "en"  # the speech's BCP-47 code (talkclip_model.speech.languages)
    whisper_model: str | None = None  # no transcript: a faster-whisper model folder or name
    recognition: Any = None  # no transcript: a talkclip_model.types.Recognition made beforehand (the batch)


def build_request(scene, obj, audio: Path | None, *, start_frame: float, prompt: str | None = None,
                  intensity: float = 1.0, transcript: str | None = None, seed: int | None = None,
                  use_markers: bool = True, profile: str | None = None, armature=None,
                  head_bone: str | None = None, tolerance: float = 0.0, layers: bool = False,
                  take: str | None = None, language: str | None = None) -> tuple[Request, ChannelBinding]:
    """Check a take against the scene (target mesh, retarget binding, head bone) and describe it
    as a Request; also the binding it will bake through. Raises TalkclipError (one line).

    ``take`` defaults to the audio file's name; ``use_markers`` reads ``style:`` timeline markers
    from ``start_frame`` on into the schedule; ``seed`` None seeds the take from its audio;
    ``language`` None takes the panel's Language setting of ``scene`` (English without one)."""
    if take is None:
        if audio is None:
            raise TalkclipError("a take needs its audio file (or a name)")
        take = audio.stem
    check_target(obj)
    profile = None if profile is None or profile.strip() in ("", "auto") else profile.strip()
    binding = bind(shape_key_names(obj), profile)  # fails early when nothing maps
    if armature is not None:
        if not head_bone:
            raise TalkclipError(f"armature {armature.name!r} is set but no head bone is chosen")
        check_head_bone(armature, head_bone)
    req = Request(
        target=obj.name, audio=audio, take=take, start_frame=float(start_frame), fps=scene_fps(scene),
        prompt=prompt, intensity=intensity, transcript=transcript, seed=seed,
        schedule=tuple(style_schedule(scene, start_frame)) if use_markers else (),
        profile=profile, armature=armature.name if armature is not None else None,
        head_bone=head_bone or None, tolerance=tolerance, layers=layers,
        language=_language(scene, language))
    return req, binding


def _language(scene, language: str | None) -> str:
    """The take's language code: the one given, else the scene's panel setting, else English."""
    if language is None:
        setting = getattr(getattr(scene, "talkclip", None), "language", None)
        language = setting if isinstance(setting, str) and setting else "en"
    return resolve_language(language).code


def _audio_of(req: Request) -> Path:
    if req.audio is None:
        raise TalkclipError(f"take {req.take!r} has no audio to generate from")
    return req.audio


def generate_track(pipeline, req: Request, progress=None):
    """Run the pipeline for a request (no bpy: safe on a worker thread)."""
    from talkclip_model.pipeline import GenerateOptions

    options = GenerateOptions(fps=req.fps, seed=req.seed, transcript=req.transcript, prompt=req.prompt,
                              intensity=req.intensity, schedule=req.schedule, language=req.language,
                              whisper_model=req.whisper_model, recognition=req.recognition)
    return pipeline.generate(_audio_of(req), options, progress=progress)


def worker_request(req: Request, encoder: str | None = None, providers: list[str] | None = None) -> dict:
    """The JSON request talkclip_cli.worker reads for ``req``: the same options generate_track
    passes, as JSON values."""
    return {"audio": os.path.abspath(_audio_of(req)), "fps": req.fps, "seed": req.seed,
            "transcript": req.transcript, "prompt": req.prompt, "intensity": req.intensity,
            "schedule": [[float(t), p] for t, p in req.schedule], "encoder": encoder, "providers": providers,
            "language": req.language, "whisper_model": req.whisper_model,
            "recognition": req.recognition.to_dict() if req.recognition is not None else None}


def bake_request(scene, req: Request, track) -> BakeSummary:
    """Bake a track as the request says (main thread): a new action on the target's shape keys,
    then the head rotation on the head bone when the request names one."""
    summary = bake_shape_keys(bpy.data.objects.get(req.target), track, take=req.take,
                              start_frame=req.start_frame, profile=req.profile,
                              reduce_tolerance=req.tolerance, layers=req.layers, scene=scene)
    if req.armature:
        summary.head_action = bake_head(bpy.data.objects.get(req.armature), req.head_bone or "", track,
                                        take=req.take, start_frame=req.start_frame,
                                        reduce_tolerance=req.tolerance, scene=scene)
    return summary
