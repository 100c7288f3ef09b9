"""Speech -> timed phones: forced alignment when a transcript is given (``align``), recognition
when not (``recognise``). Long recordings are cut at pauses (``segments``) and processed segment
by segment; the transcript is checked against the audio (``check``). PocketSphinx itself is
behind ``sphinx``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from talkclip_model.errors import TalkclipError
from talkclip_model.phones import PHONE_SET, SILENCE
from talkclip_model.speech import espeak, whisper
from talkclip_model.speech.align import TakeAlignment, align_sequence, plain_alignment
from talkclip_model.speech.audio import AudioClip, loudness_db
from talkclip_model.speech.check import mean_score, refuse_unmatched, transcript_doubt
from talkclip_model.speech.g2p import normalise_transcript
from talkclip_model.speech.languages import (
    ENGLISH,
    Language,
    dictionary_word,
    resolve,
    spoken_word,
    transcript_clauses,
)
from talkclip_model.speech.recognise import RECOGNIZERS, recognise_segments
from talkclip_model.speech.segments import Segment, pause_mask, split_at_pauses
from talkclip_model.speech.sphinx import POOL, Phones, Timed
from talkclip_model.types import PhoneTrack, Recognition

__all__ = ["RECOGNIZERS", "phone_track"]


def phone_track(clip: AudioClip, transcript: str | None = None,
                progress: Callable[[float], None] | None = None, recognizer: str = "auto",
                language: str | None = None, whisper_model: str | None = None,
                recognition: Recognition | None = None) -> PhoneTrack:
    """Timed phones for ``clip``; forced alignment with a transcript, recognition without.

    Without a transcript, ``recognizer="whisper"`` recognises words with Whisper
    (``speech.whisper``; ``whisper_model`` a model folder or name, else found as that module
    says) and aligns them like a transcript; ``"auto"`` (the default) does so when a Whisper
    model is found, and otherwise warns and uses ``"words"``: PocketSphinx's English language
    model, words force-aligned (about 0.4 s per audio second). ``"phones"`` runs free phone
    recognition (about 0.05 s per audio second), also the last fallback. ``recognition`` gives
    words recognised beforehand (``whisper.recognise_many``). ``language`` is the speech's
    BCP-47 code (``languages.LANGUAGES``; None: English with a transcript, detected by Whisper
    without): other languages than English are read by espeak-ng, and their aligned phones
    carry the labels the animation draws.
    """
    if recognizer not in RECOGNIZERS:
        raise TalkclipError(f"unknown recognizer {recognizer!r}; use one of {', '.join(RECOGNIZERS)}")
    report = progress or (lambda f: None)
    notes: list[str] = []
    segments = split_at_pauses(clip)
    with POOL.lock:
        POOL.start_take()  # nothing carries over from the process's earlier takes
    if transcript is None and recognition is None and recognizer in ("auto", "whisper"):
        recognition = whisper.recognise_take(clip.samples, resolve(language).code if language else None,
                                             whisper_model, notes, required=recognizer == "whisper")
    if transcript is None and recognition is not None:
        track = _recognised_track(clip, segments, recognition, notes, report)
        if track is not None:
            return track
        recognizer = "phones"
    lang = resolve(language)
    clauses = _transcript_clauses(transcript, lang) if transcript is not None else []
    words = [w for clause in clauses for w in clause]
    if transcript is not None and not words:
        notes.append("transcript has no words; recognising phones instead")
    source = "alignment" if words else "recognition"  # said before unpronounceable words are dropped
    if words:
        words = _pronounceable(clauses, lang, notes)
    if words:
        total = max(sum(s.end - s.start for s in segments), 1)
        take = _align_transcript(clip, segments, words, notes, lambda done: report(done / total), lang.code)
        phones = take.phones
        word_times = [Timed(spoken_word(w.label), w.start, w.end) for w in take.words]
    else:
        recognizer = "phones" if recognizer == "phones" else "words"
        if lang.code != ENGLISH and recognizer == "words":
            notes.append(f"without a transcript {lang.name} speech is recognised as English phones (there is "
                         "no word recogniser for it yet); give the transcript for accurate lip sync")
            recognizer = "phones"
        phones, word_times = recognise_segments(clip, segments, recognizer, report), []
    track = _to_track(phones, clip.duration, source, word_times, notes)
    report(1.0)
    return track


def _recognised_track(clip: AudioClip, segments: list[Segment], recognition: Recognition, notes: list[str],
                      report: Callable[[float], None]) -> PhoneTrack | None:
    """The recogniser's words aligned as a transcript would be (without the transcript check:
    the words came from this audio); None, with a note, when they cannot be."""
    try:
        lang = resolve(recognition.language)
        clauses = _transcript_clauses(recognition.text, lang) if recognition.text.strip() else []
        words = _pronounceable(clauses, lang, notes) if clauses else []
        if not words:
            notes.append(f"{recognition.model or 'the recogniser'} heard no words it can pronounce; recognising phones instead")
            return None
        total = max(sum(s.end - s.start for s in segments), 1)
        take = align_sequence(clip, segments, words, pause_mask(loudness_db(clip.samples)),
                              report=lambda done: report(done / total))
        refuse_unmatched(clip, take, len(words))
    except TalkclipError as exc:
        notes.append(f"the recognised words could not be aligned ({exc}); recognising phones instead")
        return None
    for span in take.failed:
        a, b = span.seconds
        notes.append(f"alignment failed for {a:.1f}-{b:.1f} s; recognised phones there instead")
    word_times = [Timed(spoken_word(w.label), w.start, w.end) for w in take.words]
    track = _to_track(take.phones, clip.duration, "whisper", word_times, notes, recognition)
    report(1.0)
    return track


def _transcript_clauses(transcript: str, lang: Language) -> list[list[str]]:
    if lang.code == ENGLISH:
        words = normalise_transcript(transcript)
        return [words] if words else []
    return transcript_clauses(transcript, lang)


def _shown(words: Sequence[str]) -> str:
    return ", ".join(words[:8]) + (f" and {len(words) - 8} more" if len(words) > 8 else "")


def _pronounceable(clauses: list[list[str]], lang: Language, notes: list[str]) -> list[str]:
    """The aligner's names of the words it can pronounce (the others are left out), noting the
    words pronounced from their spelling (English) or that espeak-ng could not read."""
    words = [w for clause in clauses for w in clause]
    if lang.code != ENGLISH:
        reading = espeak.read_words(clauses, lang)
        if reading.unreadable:
            notes.append(f"espeak-ng cannot read these words as {lang.name}, left out: {_shown(reading.unreadable)}")
        if reading.unknown_symbols:
            notes.append(f"espeak-ng phones with no mapping, left out: {' '.join(reading.unknown_symbols)}")
        with POOL.lock:
            POOL.add_entries({dictionary_word(w, lang): [Phones(p.acoustic, p.visual) for p in prons]
                              for w, prons in reading.pronunciations.items()})
        return [dictionary_word(w, lang) for w in words if w in reading.pronunciations]
    with POOL.lock:
        guessed = POOL.add_pronunciations(words, guess=espeak.english_guess)
        words = [w for w in words if POOL.can_pronounce(w)]
    if guessed:
        how = "by espeak-ng" if espeak.backend() else "by simple rules"
        notes.append(f"not in the pronunciation dictionary, pronounced from spelling {how}: {_shown(guessed)}")
    return words


def _align_transcript(clip: AudioClip, segments: list[Segment], words: list[str], notes: list[str],
                      report: Callable[[int], None], language: str = ENGLISH) -> TakeAlignment:
    """The transcript aligned to the take and checked against it; raises when it plainly does
    not match."""
    take = align_sequence(clip, segments, words, pause_mask(loudness_db(clip.samples)), report=report)
    for span in take.failed:
        a, b = span.seconds
        notes.append(f"alignment failed for {a:.1f}-{b:.1f} s; recognised phones there instead")
    refuse_unmatched(clip, take, len(words))
    try:
        doubt = transcript_doubt(clip, take.aligned, language)
    except TalkclipError:
        # One segment fitting far worse than free recognition: before refusing the text, try
        # plain forced alignment, which follows very stretched speech better.
        plain = plain_alignment(clip, words) if len(segments) == 1 and not take.failed else None
        if plain is None or plain.aligned[0].score_per_frame <= mean_score(take.aligned):
            raise
        take = plain
        doubt = transcript_doubt(clip, take.aligned, language)
    if doubt:
        notes.append(doubt)
    missing = len(words) - len(take.words)
    if missing > 0 and not take.failed:
        notes.append(f"{missing} of the transcript's {len(words)} words were not found in the audio "
                     "(left out of the alignment); check the lip sync there or the text")
    return take


def _to_track(phones: Sequence[Timed], duration: float, source: str, word_times: Sequence[Timed],
              notes: list[str], recognition: Recognition | None = None) -> PhoneTrack:
    """The PhoneTrack of time-ordered phones: labels outside the inventory become silence,
    overlaps are trimmed, and gaps and the ends are filled with silence."""
    names: list[str] = []
    starts: list[float] = []
    ends: list[float] = []
    for name, s, e in phones:
        label = name if name in PHONE_SET else SILENCE
        s, e = max(0.0, s), min(duration, max(e, s))
        if e <= s:
            continue
        if names and label == SILENCE and names[-1] == SILENCE:
            ends[-1] = e
            continue
        if starts and s < ends[-1]:
            s = ends[-1]
            if e <= s:
                continue
        if starts and s > ends[-1] + 1e-6:  # a gap between segments is silence
            if names[-1] == SILENCE:
                ends[-1] = s
            else:
                _append(names, starts, ends, SILENCE, ends[-1], s)
        _append(names, starts, ends, label, s, e)
    if not names:
        names, starts, ends = [SILENCE], [0.0], [duration]
    if ends[-1] < duration - 1e-6:
        if names[-1] == SILENCE:
            ends[-1] = duration
        else:
            _append(names, starts, ends, SILENCE, ends[-1], duration)
    return PhoneTrack(phones=tuple(names), starts=np.asarray(starts), ends=np.asarray(ends), duration=duration,
                      source=source, words=tuple(w.label for w in word_times),
                      word_starts=np.asarray([w.start for w in word_times]),
                      word_ends=np.asarray([w.end for w in word_times]), notes=tuple(notes), recognition=recognition)


def _append(names: list[str], starts: list[float], ends: list[float], label: str, s: float, e: float) -> None:
    names.append(label)
    starts.append(s)
    ends.append(e)
