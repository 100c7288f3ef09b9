"""The one function every front end calls: audio (+ transcript, + style) -> ExpressionTrack.

The CLI, the Blender operator and the headless batch all go through ``Pipeline``; it loads the
style model once and reuses it for every take. ``GenerateOptions`` (frozen) says what to make;
the track that comes back carries what happened, including ``meta["timings"]`` (seconds per
stage). ``STAGE_SPANS`` and ``overall_fraction`` turn a stage's progress into progress through
the whole take for every progress display.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from talkclip_model.animate import decoder
from talkclip_model.errors import TalkclipError
from talkclip_model.speech import audio as audio_mod
from talkclip_model.speech import languages, phonemes
from talkclip_model.style import load_style_model
from talkclip_model.style.encoders import parse_encoder
from talkclip_model.style.model import check_intensity, scale_style
from talkclip_model.types import ExpressionTrack, PhoneTrack, Recognition, SpeakingStyle

# progress(stage, fraction of that stage in 0..1), the stages in the order they run
Progress = Callable[[str, float], None]

# (start, end) of each stage within the whole take, in the order they run: recognition and
# alignment take most of the time
STAGE_SPANS: dict[str, tuple[float, float]] = {
    "audio": (0.0, 0.1), "phonemes": (0.1, 0.8), "style": (0.8, 0.85), "decode": (0.85, 1.0)}
STAGES: tuple[str, ...] = tuple(STAGE_SPANS)


def overall_fraction(stage: str, fraction: float) -> float:
    """Fraction of the whole take done when ``stage`` has done ``fraction`` (clamped to 0..1) of
    its own work; a stage not in STAGE_SPANS counts as the whole take."""
    lo, hi = STAGE_SPANS.get(stage, (0.0, 1.0))
    return lo + (hi - lo) * min(max(fraction, 0.0), 1.0)


MIN_FPS, MAX_FPS = 1.0, 240.0
SEED_CHUNK = 1 << 20  # samples hashed at a time (an hour of audio never becomes one int16 copy)


def audio_seed(clip: audio_mod.AudioClip) -> int:
    """The take's own seed: SHA-256 of its 16 kHz samples as little-endian 16-bit PCM, first four
    bytes, top bit cleared (0 .. 2**31 - 1, so the Blender panel's seed field can hold it).

    The same recording (in any container, at any rate the decoder resamples identically) gives
    the same seed, so a line repeats exactly; different lines get different blinks, gaze and head
    motion. The int16 step makes the hash independent of numpy's float formatting."""
    digest = hashlib.sha256()
    for start in range(0, len(clip.samples), SEED_CHUNK):
        digest.update(clip.int16(start, start + SEED_CHUNK).astype("<i2", copy=False).tobytes())
    return int.from_bytes(digest.digest()[:4], "big") & 0x7FFFFFFF


def _no_progress(stage: str, fraction: float) -> None:
    pass


@dataclass(frozen=True)
class GenerateOptions:
    """Everything that shapes one take, besides the audio (what happened comes back in the
    track's meta)."""

    fps: float = 30.0
    seed: int | None = None  # None: seeded from the take's audio (audio_seed); meta["seed"] says which
    transcript: str | None = None
    prompt: str | None = None  # a style expression, e.g. 'angry + 0.5*"smiling"'
    intensity: float = 1.0
    style: SpeakingStyle | None = None  # overrides prompt when given
    schedule: Sequence[tuple[float, str]] = ()  # (seconds, prompt) pairs: style changes over time
    audio_arousal: bool = True  # let prosody modulate expression intensity
    # without a transcript: "auto" (Whisper when a model is found, else "words"), "whisper", "words"
    # (PocketSphinx words) or "phones" (fast); see phonemes.phone_track
    recognizer: str = "auto"
    # the speech's BCP-47 code (talkclip_model.speech.languages.LANGUAGES); None: English with a
    # transcript, detected by Whisper without one
    language: str | None = None
    whisper_model: str | None = None  # a faster-whisper model folder or name (speech.whisper.find_model)
    recognition: Recognition | None = None  # words recognised beforehand (speech.whisper.recognise_many)

    def __post_init__(self):
        object.__setattr__(self, "schedule", tuple(self.schedule))  # frozen all the way down


def check_fps(fps: float) -> float:
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise TalkclipError(f"fps {fps!r} is not a number") from None
    if not (MIN_FPS <= fps <= MAX_FPS):
        raise TalkclipError(f"fps {fps:g} is out of range ({MIN_FPS:g} to {MAX_FPS:g})")
    return fps


def speech_meta(track: PhoneTrack, language: str | None) -> dict:
    """The take's meta about its speech: language, phone source, notes and, when a recogniser's
    words were aligned, ``recognised``: what it heard (text, language, model) and each aligned
    word's [word, start, end] in seconds (the text can be corrected and given back as the
    transcript)."""
    rec = track.recognition
    meta: dict[str, Any] = {"language": rec.language if rec else languages.resolve(language).code,
                            "phone_source": track.source, "notes": list(track.notes)}
    if rec is not None:
        words = [[w, round(float(s), 3), round(float(e), 3)]
                 for w, s, e in zip(track.words, track.word_starts, track.word_ends)]
        meta["recognised"] = {"text": rec.text, "language": rec.language, "model": rec.model, "words": words}
    return meta


class Pipeline:
    """Holds loaded models; ``generate`` can be called many times."""

    def __init__(self, encoder: str | None = None, providers: Sequence[str] | None = None):
        parse_encoder(encoder)  # an unknown encoder is refused now, even if no prompt would load it
        self.encoder = encoder
        self.providers = list(providers) if providers else None
        self._style_model = None

    # --- style ------------------------------------------------------------------------
    @property
    def style_model(self):
        if self._style_model is None:  # loads onnxruntime and the tokenizer
            self._style_model = load_style_model(encoder=self.encoder, providers=self.providers)
        return self._style_model

    def style(self, prompt: str | None, intensity: float = 1.0) -> SpeakingStyle:
        """Style for a prompt expression (``'angry' + 0.5*'smiling'``); neutral when empty."""
        if prompt is None or not str(prompt).strip():
            base = SpeakingStyle.neutral()
            return self.style_model.scale(base, intensity) if intensity != 1.0 else base
        return self.style_model.style(prompt, intensity=intensity)

    # --- generation -------------------------------------------------------------------
    def generate(self, audio_path: str | Path, options: GenerateOptions | None = None,
                 progress: Progress | None = None) -> ExpressionTrack:
        opts = options or GenerateOptions()
        report = progress or _no_progress
        fps = check_fps(opts.fps)
        check_intensity(opts.intensity)  # refused before any work, like the fps
        timings: dict[str, float] = {}  # seconds per stage, returned in meta["timings"]

        t0 = time.perf_counter()
        report("audio", 0.0)
        clip = audio_mod.load_audio(audio_path)
        pros = audio_mod.prosody(clip)
        seed = audio_seed(clip) if opts.seed is None else int(opts.seed)
        report("audio", 1.0)
        timings["audio"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        report("phonemes", 0.0)  # recognition's first piece can take seconds: say what is running
        track = phonemes.phone_track(clip, transcript=opts.transcript, recognizer=opts.recognizer,
                                     progress=lambda f: report("phonemes", f), language=opts.language,
                                     whisper_model=opts.whisper_model, recognition=opts.recognition)
        timings["phonemes"] = time.perf_counter() - t0
        duration = clip.duration
        del clip  # the samples (230 MB an hour) are not needed past this point

        t0 = time.perf_counter()
        report("style", 0.0)
        if opts.style is not None:  # a saved style: --intensity scales it like a prompt's
            style = scale_style(opts.style, opts.intensity) if opts.intensity != 1.0 else opts.style
        else:
            style = self.style(opts.prompt, opts.intensity)
        schedule = [(float(t), self.style(p, opts.intensity)) for t, p in opts.schedule]
        report("style", 1.0)
        timings["style"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        report("decode", 0.0)
        result = decoder.decode(track, pros, style, fps=fps, seed=seed, schedule=schedule,
                                audio_arousal=opts.audio_arousal)
        report("decode", 1.0)
        timings["decode"] = time.perf_counter() - t0

        meta = dict(result.meta)
        meta.update({
            "audio": str(audio_path),
            "duration": round(duration, 4),
            "prompt": opts.prompt or "",
            "style": style.to_dict(),
            "seed": seed,  # the seed used: pass it as GenerateOptions.seed (--seed) to repeat the take
            "seed_source": "audio" if opts.seed is None else "given",
            "transcript": opts.transcript is not None,
            **speech_meta(track, opts.language),
            "timings": timings,
        })
        if opts.schedule:
            meta["schedule"] = [{"time": t, "prompt": p} for t, p in opts.schedule]
        return ExpressionTrack(fps=result.fps, arkit=result.arkit, head=result.head, phones=track,
                               layers=result.layers, meta=meta)
