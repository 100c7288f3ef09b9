"""Phones without a transcript: recognise words with PocketSphinx's English language model and
force-align them (the lexicon keeps phone sequences plausible), or free phone recognition,
which is faster and less accurate (docs/decisions/speech.md)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from talkclip_model.speech.audio import AudioClip
from talkclip_model.speech.segments import Segment
from talkclip_model.speech.sphinx import (
    POOL,
    Timed,
    base_word,
    decode,
    forced_align,
    is_filler,
    recognise_phones,
    shifted,
)

# without a transcript: "auto" (Whisper when a model is found, else "words"), "whisper" (speech.whisper;
# an error without a model), "words" (PocketSphinx words, aligned), "phones" (PocketSphinx phones)
RECOGNIZERS = ("auto", "whisper", "words", "phones")


def recognise_segments(clip: AudioClip, segments: list[Segment], recognizer: str,
                       report: Callable[[float], None]) -> list[Timed]:
    """Phones of each segment (times in the clip) by ``recognizer``; ``report`` gets the share done."""
    total = max(sum(s.end - s.start for s in segments), 1)
    phones: list[Timed] = []
    done = 0
    for seg in segments:
        chunk = clip.int16(seg.start, seg.end)
        with POOL.lock:
            seg_phones = recognise_words(chunk) if recognizer == "words" else None
            if seg_phones is None:
                seg_phones = recognise_phones(chunk)
        phones += shifted(seg_phones, seg.offset)
        done += seg.end - seg.start
        report(done / total)
    return phones


def recognise_words(pcm: np.ndarray) -> list[Timed] | None:
    """Recognise words, then force-align them for phone timing; None if nothing usable
    (hold ``POOL.lock``)."""
    dec = POOL.decoder("words")
    decode(dec, pcm.tobytes())
    hyp = dec.hyp()
    words = [base_word(w) for w in (hyp.hypstr.split() if hyp else [])]
    words = [w for w in words if not is_filler(w)]
    if not words:
        return None
    POOL.add_pronunciations(words)
    result = forced_align(pcm, words)
    return result.phones if result is not None else None
