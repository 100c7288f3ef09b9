"""The batch's lines without a transcript, recognised together before the lines run.

Whisper encodes a 30 s window whatever the line's length, so one by one a batch of short lines
pays a window each; ``whisper.recognise_many`` packs them into windows with silence between them
and splits the words back by their timestamps. Each line then gets its words as
``job.recognition`` and runs as usual: the words are aligned like a transcript. Lines with a
transcript, a track to bake, or longer than a window are left alone, and so is everything when
no Whisper model is found (each line then recognises on its own, as ``generate`` does). No bpy.
"""

from __future__ import annotations

from typing import Callable, Iterable

from talkclip_model.errors import TalkclipError
from talkclip_model.speech import whisper
from talkclip_model.speech.audio import load_audio
from talkclip_model.types import Recognition

from .jobs import Job


def candidates(jobs: Iterable[Job], wanted: Callable[[Job], bool]) -> dict[tuple[str | None, str | None], list[Job]]:
    """Lines to recognise together, by (language, whisper_model): no transcript, audio to
    generate from, and ``wanted`` (the batch: not broken, output not already there)."""
    groups: dict[tuple[str | None, str | None], list[Job]] = {}
    for job in jobs:
        if job.error or job.transcript is not None or job.track is not None or job.audio is None or not wanted(job):
            continue
        groups.setdefault((job.language, job.whisper_model), []).append(job)
    return groups


def _model(language: str | None, given: str | None) -> tuple[whisper.ModelRef, str | None] | None:
    """The model and language a take would use (``whisper.choose_model``); None without one."""
    try:
        return whisper.choose_model(language, given, notes=[])
    except TalkclipError:  # a missing model: each line says so when it runs
        return None


def recognise_group(jobs: list[Job], language: str | None, given: str | None) -> int:
    """Recognise ``jobs`` (one language, one model) together; how many got words."""
    found = _model(language, given)
    if found is None:
        return 0
    ref, language = found
    clips, short = [], []
    for job in jobs:
        try:
            samples = load_audio(job.required("audio")).samples
        except (TalkclipError, ValueError):
            continue  # the line reports its own audio problem when it runs
        if len(samples) <= whisper.PACK_S * whisper.SAMPLE_RATE:
            clips.append(samples)
            short.append(job)
    if len(short) < 2:
        return 0
    heard = whisper.recognise_many(ref, clips, whisper.whisper_language(language) if language else None)
    done = 0
    for job, rec in zip(short, heard):
        try:
            code = language or whisper.project_language(rec.language)
        except TalkclipError:
            continue  # a language the project cannot read: the line falls back on its own
        job.recognition = Recognition(rec.text, code, rec.model, rec.words)
        done += 1
    return done


def recognise_jobs(jobs: Iterable[Job], wanted: Callable[[Job], bool]) -> int:
    """Give the batch's short lines without a transcript their Whisper words, packed together;
    how many lines got them."""
    return sum(recognise_group(group, language, given)
               for (language, given), group in candidates(jobs, wanted).items())
