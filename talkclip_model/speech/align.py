"""Forced alignment of a transcript to a take cut into segments.

Segments are aligned in order against consecutive runs of the transcript's words. Each segment
expects about as many of the next words as its share of the take's speech time, and tries
``ALIGN_STRATEGIES`` in order until one gives an outcome. A segment none can align is
phone-recognised and kept as a failed span (``FailedSpan``); the next segment then searches
for its first word some way before and after the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, NamedTuple, Sequence

import numpy as np

from talkclip_model.speech.audio import HOP_SAMPLES, SAMPLE_RATE, AudioClip
from talkclip_model.speech.segments import Segment, speech_frames, split_in_two
from talkclip_model.speech.sphinx import (
    POOL,
    Alignment,
    Timed,
    base_word,
    decode,
    forced_align,
    phone_alignment,
    recognise_phones,
    shifted,
)

MAX_SPLIT_DEPTH = 3  # a failed segment is retried on up to 2**3 pieces
MIN_WORDS_TO_SPLIT = 4  # fewer expected words than this: not worth splitting
# Grammar weights (a plain continuation to the next word: 1): ending a segment after a word,
# and starting it elsewhere than at the expected word.
STOP_PROBABILITY = 0.01
JUMP_PROBABILITY = 0.01
SEARCH_AHEAD = (3.0, 20)  # a segment's grammar reaches at most 3 * estimate + 20 words ahead
# The skipping search (tried when the others fail): leaving out one word the audio does not hold,
# or holds damaged (a dropout, a word the actor left out).
SKIP_PROBABILITY = 0.001
MAX_SKIPPED_SHARE = 1 / 3


@dataclass(frozen=True)
class SegmentAlignment:
    """An aligned segment: its phones and words (seconds in the clip), the acoustic score per
    10 ms frame, how many frames it spans, and its samples ``start:end``."""

    phones: list[Timed]
    words: list[Timed]
    score_per_frame: float
    frames: int
    start: int
    end: int
    word_scores: tuple[float, ...] = ()  # each word's acoustic score, where known

    @classmethod
    def place(cls, alignment: Alignment, seg: Segment) -> SegmentAlignment:
        """A decoder's alignment of ``seg``'s audio, with its times moved to the clip's."""
        return cls(shifted(alignment.phones, seg.offset), shifted(alignment.words, seg.offset),
                   alignment.score_per_frame, (seg.end - seg.start) // HOP_SAMPLES, seg.start, seg.end,
                   alignment.word_scores)


@dataclass(frozen=True)
class FailedSpan:
    """A segment no strategy aligned: phone-recognised instead, its words unplaced."""

    phones: list[Timed]  # seconds in the clip
    start: int  # samples
    end: int

    @property
    def seconds(self) -> tuple[float, float]:
        """Start and end in seconds, to the 0.1 s that the notes tell the user (so the failed
        total that refuses a transcript is the sum of the spans the notes name)."""
        return round(self.start / SAMPLE_RATE, 1), round(self.end / SAMPLE_RATE, 1)


Piece = SegmentAlignment | FailedSpan


@dataclass
class TakeAlignment:
    """Aligned segments and failed spans in time order, and how many words they used."""

    pieces: list[Piece] = field(default_factory=list)
    used: int = 0

    @property
    def aligned(self) -> list[SegmentAlignment]:
        return [p for p in self.pieces if isinstance(p, SegmentAlignment)]

    @property
    def failed(self) -> list[FailedSpan]:
        return [p for p in self.pieces if isinstance(p, FailedSpan)]

    @property
    def phones(self) -> list[Timed]:
        return [ph for p in self.pieces for ph in p.phones]

    @property
    def words(self) -> list[Timed]:
        return [w for p in self.aligned for w in p.words]


@dataclass(frozen=True)
class Attempt:
    """One segment to align, and where in ``words`` its first word is expected."""

    clip: AudioClip
    segment: Segment
    words: Sequence[str]
    pos: int  # the expected first word
    estimate: int  # the expected number of words
    last: bool  # must use up the remaining words
    back: int  # the first word may be up to this many words before ``pos``...
    ahead: int  # ... or this many after it
    depth: int  # how many times this piece was split off a segment
    quiet: np.ndarray  # the whole clip's pause mask

    @cached_property
    def pcm(self) -> np.ndarray:
        return self.clip.int16(self.segment.start, self.segment.end)


class Outcome(NamedTuple):
    """What a strategy made of a segment: its pieces, and the run of words they used."""

    pieces: list[Piece]
    first: int
    used: int  # 0: the segment failed and where its words ended is unknown


def _align_rest(a: Attempt) -> Outcome | None:
    """The last segment after an uncertain boundary: all remaining words, from the expected start."""
    if not a.last or (a.back, a.ahead) == (0, 0):
        return None
    with POOL.lock:
        result = forced_align(a.pcm, a.words[a.pos:], ("align_wide",))
    if result is None:
        return None
    return Outcome([SegmentAlignment.place(result, a.segment)], a.pos, len(a.words) - a.pos)


def _search_words(a: Attempt, skip: bool = False) -> Outcome | None:
    """Grammar search on the wide-beam aligner: which of the next words were spoken (for the last
    segment: all the remaining ones), then their phones timed along that path. With ``skip`` the
    path may leave out single words."""
    with POOL.lock:
        dec = POOL.decoder("align_wide")
        grammar = _grammar(dec, a, skip)
        if grammar is None:
            return None
        window, lo = grammar
        raw = a.pcm.tobytes()
        try:
            dec.activate_search("segment")
            decode(dec, raw)
            hyp = dec.hyp()
            said = [base_word(w) for w in hyp.hypstr.split()] if hyp is not None else []
            result = phone_alignment(dec, raw) if said else None
        except RuntimeError:
            return None
    if result is None:
        return None
    # where the spoken run starts: the matching start nearest the estimate
    runs = [(j, _run_length(window, said, j, skip)) for j in range(0, a.pos + a.ahead - lo + 1)]
    runs = [(j, n) for j, n in runs if n]
    if not runs:
        return None
    j, n = min(runs, key=lambda run: abs(lo + run[0] - a.pos))
    return Outcome([SegmentAlignment.place(result, a.segment)], lo + j, n)


def _run_length(window: Sequence[str], said: Sequence[str], start: int, skip: bool) -> int:
    """How many words of ``window`` from ``start`` the spoken ``said`` covers (0: it does not
    match there); with ``skip`` single words may be missing between spoken ones."""
    k = start
    for i, word in enumerate(said):
        if k < len(window) and window[k] == word:
            k += 1
        elif skip and i > 0 and k + 1 < len(window) and window[k + 1] == word:
            k += 2
        else:
            return 0
    return k - start


def _search_skipping(a: Attempt) -> Outcome | None:
    """The grammar search leaving out single words, kept when it left out at most a third of the
    words it spans (more is other text, not a few damaged words)."""
    outcome = _search_words(a, skip=True)
    if outcome is None:
        return None
    said = sum(len(p.words) for p in outcome.pieces if isinstance(p, SegmentAlignment))
    return outcome if outcome.used - said <= MAX_SKIPPED_SHARE * outcome.used else None


def _split_and_align(a: Attempt) -> Outcome | None:
    """Cut the segment at its middle pause and align the halves as a sequence (with this same
    list of strategies); not after an uncertain boundary, nor for a few words."""
    if a.depth >= MAX_SPLIT_DEPTH or a.estimate < MIN_WORDS_TO_SPLIT or a.back:
        return None
    halves = split_in_two(a.clip, a.segment)
    if halves is None:
        return None
    sub = align_sequence(a.clip, halves, a.words[a.pos:], a.quiet, a.depth + 1, finish=a.last)
    return Outcome(sub.pieces, a.pos, sub.used)


def _recognise_instead(a: Attempt) -> Outcome:
    """Phone recognition: the segment is a failed span, its words unplaced."""
    with POOL.lock:
        phones = recognise_phones(a.pcm)
    return Outcome([FailedSpan(shifted(phones, a.segment.offset), a.segment.start, a.segment.end)], a.pos, 0)


class Strategy(NamedTuple):
    name: str
    run: Callable[[Attempt], Outcome | None]  # None: does not apply, or aligned nothing


# Tried in order on each segment until one gives an outcome; the last always does.
ALIGN_STRATEGIES: tuple[Strategy, ...] = (
    Strategy("last segment after an uncertain boundary: the rest of the words from the expected start", _align_rest),
    Strategy("grammar search: which of the next words were spoken", _search_words),
    Strategy("split in two at the middle pause, each half aligned with this list", _split_and_align),
    Strategy("grammar search that may leave out single words", _search_skipping),
    Strategy("phone recognition, the span kept as failed", _recognise_instead),
)


def _first_outcome(a: Attempt) -> Outcome:
    for strategy in ALIGN_STRATEGIES:
        outcome = strategy.run(a)
        if outcome is not None:
            return outcome
    raise AssertionError("the last alignment strategy always gives an outcome")


class _Cursor(NamedTuple):
    """Where the next segment's words are expected to start: at ``pos``, or up to ``back`` words
    before or ``ahead`` words after it."""

    pos: int = 0
    back: int = 0
    ahead: int = 0

    def after(self, outcome: Outcome, estimate: int, n_words: int) -> _Cursor:
        if outcome.used == 0:  # where this segment's words ended is unknown: search both ways next
            back = self.back + max(estimate, 4)
            return _Cursor(min(self.pos + estimate, n_words), back, back)
        # the segment may have stopped a few words early, inside a noisy stretch
        failed = any(isinstance(p, FailedSpan) for p in outcome.pieces)
        used = outcome.used
        return _Cursor(min(outcome.first + used, n_words), max(4, used // 2) if failed else 0, max(3, used // 2))


def align_sequence(clip: AudioClip, segments: list[Segment], words: Sequence[str], quiet: np.ndarray,
                   depth: int = 0, report: Callable[[int], None] | None = None,
                   finish: bool = True) -> TakeAlignment:
    """Align consecutive ``segments`` against consecutive runs of ``words``.

    With ``finish`` the last segment must use up all the words. ``quiet`` is the clip's pause
    mask; ``report`` gets the samples done after each segment.
    """
    speech = speech_frames(quiet, segments)
    take = TakeAlignment()
    cursor = _Cursor()
    done = 0
    for i, seg in enumerate(segments):
        remaining = len(words) - cursor.pos
        last = finish and i == len(segments) - 1
        estimate = remaining if last else int(round(remaining * speech[i] / speech[i:].sum()))
        outcome = _first_outcome(Attempt(clip, seg, words, cursor.pos, estimate, last, cursor.back,
                                         cursor.ahead, depth, quiet))
        take.pieces += outcome.pieces
        cursor = cursor.after(outcome, estimate, len(words))
        done += seg.end - seg.start
        if report is not None:
            report(done)
    take.used = cursor.pos
    return take


def plain_alignment(clip: AudioClip, words: Sequence[str]) -> TakeAlignment | None:
    """The whole clip force-aligned to all of ``words`` (default beams, then wide), as one segment."""
    with POOL.lock:
        result = forced_align(clip.int16(), words)
    if result is None:
        return None
    whole = Segment(0, len(clip.samples))
    return TakeAlignment([SegmentAlignment.place(result, whole)], len(words))


def _grammar(dec, a: Attempt, skip: bool = False) -> tuple[list[str], int] | None:
    """Make the decoder's "segment" search a finite-state grammar of the words in order, starting
    at ``a.pos`` (or up to ``a.back`` words before / ``a.ahead`` words after it) and ending after
    any word (the last segment: only after the last word); with ``skip`` a single word may be left
    out anywhere (SKIP_PROBABILITY). Returns (window of words, index of its first word), or None
    when there is nothing to align. Every path is a word sequence, so the best one can be
    phone-aligned directly."""
    words = a.words
    lo = max(0, a.pos - a.back)
    pos = min(a.pos, len(words) - 1)
    first = min(pos + a.ahead, len(words) - 1)
    reach = first + int(SEARCH_AHEAD[0] * max(a.estimate, 1)) + SEARCH_AHEAD[1]
    hi = len(words) if a.last else min(len(words), reach)
    window = list(words[lo:hi])
    if not window or pos < lo:
        return None
    n = len(window)
    entry, final = 0, n + 1  # state j (1..n) is "after word j-1 of the window"
    trans = []
    for j, w in enumerate(window):
        sources = [(j, 1.0)] if j > 0 else []
        if skip and j >= 2:
            sources.append((j - 1, SKIP_PROBABILITY))  # word j-1 left out
        if j <= first - lo:
            sources.append((entry, 1.0 if lo + j == pos else JUMP_PROBABILITY))
        targets = [(j + 1, 1.0)] if j < n - 1 else []
        if j == n - 1 or not a.last:
            targets.append((final, 1.0 if j == n - 1 else STOP_PROBABILITY))
        elif skip and j == n - 2:
            targets.append((final, SKIP_PROBABILITY))  # the last word left out
        trans += [(s, t, ps * pt, w) for s, ps in sources for t, pt in targets]
    try:
        dec.add_fsg("segment", dec.create_fsg("segment", entry, final, trans))
    except (RuntimeError, ValueError):
        return None
    return window, lo
