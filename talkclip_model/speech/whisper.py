"""Words without a transcript: Whisper, run by faster-whisper (CTranslate2) on the CPU.

The recognised words then go through the same alignment as a user's transcript
(``phonemes.phone_track``), so the lips get exactly timed phones with their visual classes.

**Finding a model** (nothing is ever downloaded here): the folder given as ``--whisper-model``
(or a model name looked up in the cache), else the folder in ``TALKCLIP_WHISPER_MODEL``, else
the Hugging Face hub cache where ``hf download Systran/faster-whisper-tiny.en`` puts it
(``HF_HUB_CACHE``, ``HF_HOME/hub`` or ``~/.cache/huggingface/hub``). English prefers the
English-only models (tiny.en first: 13% word error on the MFA monologues at 0.06 CPU s per
audio second); other languages, and speech whose language is not given, need a multilingual
one (base first). faster-whisper is always handed a folder with ``tokenizer.json``, so neither
it nor huggingface_hub looks anything up online.

**Short lines** (``recognise_many``): Whisper encodes a 30 s window whatever the audio's length,
so many short lines are packed into windows with ``GAP_S`` of silence between them and the
words are split back by their timestamps.

Measurements: docs/languages.md ("Without a transcript").
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from talkclip_model.errors import TalkclipError
from talkclip_model.speech.audio import SAMPLE_RATE
from talkclip_model.speech.languages import ENGLISH, resolve
from talkclip_model.types import Recognition

ENV_MODEL = "TALKCLIP_WHISPER_MODEL"
# Detection: the likeliest language the project reads wins unless an unsupported one is over
# 1/SUPPORTED_SHARE times likelier (short synthetic lines are often heard as Norwegian or Welsh).
SUPPORTED_SHARE = 0.2
ENV_THREADS = "TALKCLIP_WHISPER_THREADS"  # CPU threads (default: CTranslate2's, OMP_NUM_THREADS)
ENGLISH_ONLY = ("tiny.en", "base.en", "small.en", "medium.en")  # looked up in this order
MULTILINGUAL = ("base", "tiny", "small", "medium", "large-v3", "large-v2", "large-v1")
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
# CTranslate2 compute type by model size: int8 halves the time, but on tiny models it costs
# accuracy (tiny.en on the MFA monologues: 91.7% lips with int8, 95.9% with float32, at 0.06 and
# 0.11 CPU s per audio s); base (145 MB) keeps its accuracy in int8 (mbrola lines of 9 languages:
# 94.5% against 94.0% with float32, 30% less time), and larger models run in int8 too.
SMALL_MODEL_BYTES = 100 << 20
BEAM_SIZE = 5  # one take; greedy decoding lost a phone of 121 on the MFA monologues for 15% less time
# Packed short lines decode greedily: 24 short MFA lines took 14.8 s instead of 20.7 s of CPU, and
# their words matched the reference transcripts better (0.47 against 0.41 mean difflib ratio)
PACKED_BEAM_SIZE = 1
WINDOW_S = 30.0  # Whisper's input window
PACK_S = 24.0  # short lines packed per window (fuller windows decoded no faster here: Whisper re-seeks)
GAP_S = 1.0  # silence between packed short lines
HOW_TO_GET = ("get one with `hf download Systran/faster-whisper-tiny.en` (English; Systran/faster-whisper-base for "
              f"other languages), or give --whisper-model or {ENV_MODEL} a faster-whisper model folder")
INSTALL = "install faster-whisper (pip install 'talkclip[whisper]')"


class ModelMissing(TalkclipError):
    """No usable Whisper model (or faster-whisper is not installed); the message says how to get one."""


@dataclass(frozen=True)
class ModelRef:
    """A faster-whisper model folder and the name it is known by."""

    path: Path
    name: str


# --- finding a model --------------------------------------------------------------------------

def hub_caches() -> list[Path]:
    """The Hugging Face hub cache folders to look in, as huggingface_hub finds its own."""
    found = []
    if os.environ.get("HF_HUB_CACHE"):
        found.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        found.append(Path(os.environ["HF_HOME"]) / "hub")
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    found.append(Path(xdg) / "huggingface" / "hub")
    return list(dict.fromkeys(found))


def is_model_folder(folder: Path) -> bool:
    return all((folder / f).is_file() for f in MODEL_FILES)


def cached_model(name: str) -> ModelRef | None:
    """Systran's faster-whisper conversion ``name`` (tiny.en, base, ...) in the hub cache: the
    snapshot ``refs/main`` names, else any complete snapshot."""
    for cache in hub_caches():
        repo = cache / f"models--Systran--faster-whisper-{name}"
        snapshots = repo / "snapshots"
        if not snapshots.is_dir():
            continue
        ref = repo / "refs" / "main"
        candidates = [snapshots / ref.read_text(encoding="utf-8").strip()] if ref.is_file() else []
        candidates += sorted(p for p in snapshots.iterdir() if p.is_dir())
        for folder in candidates:
            if is_model_folder(folder):
                return ModelRef(folder, name)
    return None


def model_named(value: str, what: str) -> ModelRef:
    """The model ``value`` names: a model folder, or a model name looked up in the hub cache."""
    folder = Path(value).expanduser()
    if folder.is_dir():
        if not is_model_folder(folder):
            raise ModelMissing(f"{what} {value}: not a faster-whisper model folder (it needs "
                               f"{', '.join(MODEL_FILES)}); {HOW_TO_GET}")
        return ModelRef(folder, folder.name)
    if value in ENGLISH_ONLY + MULTILINGUAL:
        found = cached_model(value)
        if found is None:
            raise ModelMissing(f"{what} {value}: not in the Hugging Face cache "
                               f"({', '.join(map(str, hub_caches()))}); {HOW_TO_GET}")
        return found
    raise ModelMissing(f"{what} {value}: no such folder; {HOW_TO_GET}")


def find_model(language: str | None, given: str | None = None) -> ModelRef | None:
    """The model for speech in ``language`` (None: not known, so a multilingual model): the one
    ``given`` (a folder or name), else ``TALKCLIP_WHISPER_MODEL``'s, else the first in the cache;
    None when there is none. A given model that is missing raises ModelMissing."""
    if given:
        return model_named(given, "--whisper-model")
    if os.environ.get(ENV_MODEL):
        return model_named(os.environ[ENV_MODEL], ENV_MODEL)
    names = ENGLISH_ONLY + MULTILINGUAL if language == "en" else MULTILINGUAL
    for name in names:
        found = cached_model(name)
        if found is not None:
            return found
    return None


# --- running it ---------------------------------------------------------------------------------

_MODELS: dict[tuple[str, int], Any] = {}
_LOCK = threading.Lock()  # one recognition at a time per process (the models are shared)
_LOAD_LOCK = threading.Lock()  # one load of each model, whichever thread asks first


def threads() -> int:
    try:
        return max(0, int(os.environ.get(ENV_THREADS, "0")))
    except ValueError:
        return 0


def compute_type(ref: ModelRef) -> str:
    return "float32" if (ref.path / "model.bin").stat().st_size < SMALL_MODEL_BYTES else "int8"


def load(ref: ModelRef, cpu_threads: int | None = None):
    """The faster-whisper model in ``ref``'s folder (loaded once per process)."""
    n = threads() if cpu_threads is None else cpu_threads
    key = (str(ref.path), n)
    with _LOAD_LOCK:
        if key not in _MODELS:
            try:
                from faster_whisper import WhisperModel
            except ImportError:
                raise ModelMissing(f"Whisper recognition needs faster-whisper, which is not installed: {INSTALL}") from None
            try:
                _MODELS[key] = WhisperModel(str(ref.path), device="cpu", compute_type=compute_type(ref), cpu_threads=n)
            except (RuntimeError, ValueError, OSError) as exc:
                raise TalkclipError(f"Whisper model {ref.path}: cannot load ({' '.join(str(exc).split())})") from None
        return _MODELS[key]


def multilingual(ref: ModelRef) -> bool:
    """Whether the model knows other languages than English (tiny.en does not)."""
    return bool(load(ref).model.is_multilingual)


def detect_language(ref: ModelRef, samples: np.ndarray) -> list[tuple[str, float]]:
    """(Whisper's language code, its probability) for the first 30 s of ``samples``, most likely first."""
    model = load(ref)
    with _LOCK:
        _, _, ranked = model.detect_language(np.asarray(samples, dtype=np.float32))
    return [(code, float(p)) for code, p in ranked]


def _transcribe(model, samples: np.ndarray, language: str | None, word_times: bool, beam_size: int = BEAM_SIZE):
    segments, info = model.transcribe(np.asarray(samples, dtype=np.float32), language=language,
                                      beam_size=beam_size, condition_on_previous_text=False,
                                      word_timestamps=word_times, vad_filter=False)
    return list(segments), info


def transcribe(ref: ModelRef, samples: np.ndarray, language: str | None) -> Recognition:
    """What Whisper hears in ``samples`` (16 kHz mono float); ``language`` a Whisper code or
    None to detect it. Word times are left to the aligner."""
    model = load(ref)
    with _LOCK:
        segments, info = _transcribe(model, samples, language, word_times=False)
    text = " ".join(s.text.strip() for s in segments if s.text.strip())
    return Recognition(text=text, language=info.language, model=ref.name)


# --- short lines, batched -----------------------------------------------------------------------

def pack(lengths: Sequence[float], window_s: float = WINDOW_S, gap_s: float = GAP_S) -> list[list[int]]:
    """Consecutive clips (``lengths`` in seconds) grouped into windows of at most ``window_s``
    with ``gap_s`` between clips; a clip too long for a window is a group of its own."""
    groups: list[list[int]] = []
    used = window_s + 1.0
    for i, length in enumerate(lengths):
        need = length if not groups else length + gap_s
        if groups and used + need <= window_s:
            groups[-1].append(i)
            used += need
        else:
            groups.append([i])
            used = length
    return groups


def _split_words(segments, offsets: list[tuple[float, float]]) -> list[list[tuple[str, float, float]]]:
    """Each word of a packed window, given back to the clip its middle falls in (half of each gap
    counts for the clip on either side), with times in that clip."""
    out: list[list[tuple[str, float, float]]] = [[] for _ in offsets]
    for seg in segments:
        for w in seg.words or ():
            middle = 0.5 * (w.start + w.end)
            i = next((k for k, (start, _) in enumerate(offsets[1:], 1) if middle < start - 0.5 * GAP_S), len(offsets)) - 1
            start, length = offsets[i]
            out[i].append((w.word, min(max(w.start - start, 0.0), length), min(max(w.end - start, 0.0), length)))
    return out


def recognise_many(ref: ModelRef, clips: Sequence[np.ndarray], language: str | None) -> list[Recognition]:
    """``transcribe`` for many clips (16 kHz mono float), packed into 30 s windows so a batch of
    short lines pays one window per ~30 s of speech, not one per line. Each Recognition carries
    Whisper's word times within its clip. ``language`` None: detected per window."""
    model = load(ref)
    lengths = [len(c) / SAMPLE_RATE for c in clips]
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)
    results: list[Recognition] = [Recognition("", language or "", ref.name)] * len(clips)
    for group in pack(lengths, PACK_S):
        pieces: list[np.ndarray] = []
        offsets: list[tuple[float, float]] = []
        t = 0.0
        for i in group:
            pieces += [gap] if pieces else []
            t += GAP_S if offsets else 0.0
            offsets.append((t, lengths[i]))
            pieces.append(np.asarray(clips[i], dtype=np.float32))
            t += lengths[i]
        with _LOCK:
            segments, info = _transcribe(model, np.concatenate(pieces), language, word_times=True,
                                         beam_size=PACKED_BEAM_SIZE)
        for i, words in zip(group, _split_words(segments, offsets)):
            text = "".join(w for w, _, _ in words).strip()
            results[i] = Recognition(text=text, language=info.language, model=ref.name,
                                     words=tuple((w.strip(), round(s, 3), round(e, 3)) for w, s, e in words))
    return results


# --- one take ----------------------------------------------------------------------------------

def project_language(code: str) -> str:
    """The project's code for a language Whisper names (Portuguese is read as Brazilian);
    TalkclipError when the project cannot read it."""
    return resolve("pt-BR" if code == "pt" else code).code


def whisper_language(code: str) -> str:
    return code.split("-")[0].lower()


def _supported_language(ranked: list[tuple[str, float]], notes: list[str]) -> str | None:
    """The most likely language the project can read (the project's code), unless one it cannot
    read is far more likely (a note then says so)."""
    for code, p in ranked:
        try:
            found = project_language(code)
        except TalkclipError:
            continue
        if p >= SUPPORTED_SHARE * ranked[0][1]:
            return found
        break
    notes.append(f"Whisper hears language {ranked[0][0]!r}, which is not supported; recognising English phones "
                 "instead (give the transcript and --language for accurate lip sync)")
    return None


def choose_model(language: str | None, given: str | None, notes: list[str]) -> tuple[ModelRef, str | None]:
    """The model to run and the language (the project's code; None: detect it); ModelMissing
    when there is none that fits."""
    ref = find_model(language, given)
    if ref is None and language is None:
        ref = find_model(ENGLISH)
        if ref is not None:
            notes.append("no multilingual Whisper model found, so the speech is taken to be English (give the "
                         "language, or get Systran/faster-whisper-base)")
            language = ENGLISH
    if ref is None:
        kind = "" if language in (None, ENGLISH) else f"multilingual (for {resolve(language).name}) "
        raise ModelMissing(f"no {kind}Whisper model found; {HOW_TO_GET}")
    if language not in (None, ENGLISH) and not multilingual(ref):
        raise ModelMissing(f"Whisper model {ref.name} knows only English, not {resolve(language).name}; {HOW_TO_GET}")
    return ref, language


def recognise_take(samples: np.ndarray, language: str | None, given: str | None, notes: list[str],
                   required: bool = False) -> Recognition | None:
    """What Whisper hears in a take; ``language`` the project's code or None (detected; English
    then runs on an English-only model when one is cached, which is faster). None when no model
    is found and Whisper was not ``required`` (a one-line warning says how to get one) or when
    it hears a language the project cannot read (a note says so)."""
    try:
        ref, language = choose_model(language, given, notes)
        if language is None and multilingual(ref):
            language = _supported_language(detect_language(ref, samples), notes)
            if language is None:
                return None
            english = find_model(ENGLISH) if language == ENGLISH and not given and not os.environ.get(ENV_MODEL) else None
            ref = english or ref
        heard_text = transcribe(ref, samples, whisper_language(language) if language else None)
    except ModelMissing as exc:
        if required or given or os.environ.get(ENV_MODEL):
            raise
        warnings.warn(f"{exc} (without one, speech is recognised by PocketSphinx, which mishears far more words)",
                      UserWarning, stacklevel=3)
        return None
    code = language or project_language(heard_text.language)
    return Recognition(heard_text.text, code, heard_text.model, heard_text.words)
