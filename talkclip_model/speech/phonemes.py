"""Phone timing with PocketSphinx: forced alignment when a transcript is given, phone
recognition when not. Long recordings are cut at pauses and processed segment by segment.

PocketSphinx 5 notes: alignment needs ``bestpath=False`` (the default config fails on the
second pass); phone frames are 10 ms. Decoders are built once per process and reused.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from talkclip_model import native
from talkclip_model.errors import TalkclipError
from talkclip_model.phones import PHONE_SET, SILENCE
from talkclip_model.speech.audio import SAMPLE_RATE, AudioClip, loudness_db
from talkclip_model.speech.cmudict import cmudict
from talkclip_model.speech.cmudict import dictionary_path as cmudict_path
from talkclip_model.speech.g2p import guess_pronunciation, normalise_transcript
from talkclip_model.types import PhoneTrack

FRAME_SECONDS = 0.01
SEGMENT_TARGET_S = 15.0  # long audio is cut at pauses into pieces about this long
SEGMENT_MAX_S = 25.0  # ... and never longer than this (shorter pieces align faster)
MIN_PAUSE_S = 0.25
MAX_SPLIT_DEPTH = 3  # a failed alignment is retried on up to 2**3 pieces
MIN_SPLIT_S = 2.0
MAX_FAILED_SHARE = 0.5  # more of the audio than this unalignable: the transcript is wrong
# Mismatch check: alignment score per frame vs free phone recognition score per frame.
# Matched transcripts score within ~2x of free recognition, mismatched ones 5-10x worse.
SUSPICIOUS_SCORE_PER_FRAME = -25.0
# ... and a mismatch error also needs a score this bad: correct transcripts of short synthetic
# lines scored -25.2 with a ratio of 4.8 (free recognition fits synthetic voices very well),
# while every wrong text that aligned at all scored -28.7 or worse (benchmarks' 36 mbrola lines,
# LibriVox, MFA; shuffled and swapped transcripts).
MISMATCH_SCORE_PER_FRAME = -28.0
CHECK_SEGMENTS = 1
CHECK_EXCERPT_S = 2.5
MISMATCH_RATIO = 4.5  # measured: wrong text 4.2-10.4 (most fail to align at all) -> error above this
DOUBT_RATIO = 3.3  # matched text 1.5-2.9 on clean speech, 3.5 on a hoarse speaker -> a note above this


# Forced alignment: Gaussian scores on every second frame (ds=2) halve the cost; measured on
# LibriVox, MFA and synthetic speech, mouth-shape accuracy was unchanged (98.8% vs 98.4%).
# Top 3 Gaussians of each codebook (topn=3, PocketSphinx's default is 4): 8-10% faster, mouth
# shapes within one phone of topn=4 on every benchmark set (topn=2 lost one more; ds=3 lost 5%
# on MFA).
# Two aligners: default beams, and wide beams for hoarse or noisy speech (the MFA "cold" takes),
# where default beams prune the right path. Transcript segments are searched with a grammar
# (see _align_segment) on the wide one, which on clean speech costs about the same. Plain forced
# alignment (default, then wide beams) times recognised words and is the second opinion before
# a mismatch error.
ALIGNERS = {"align": dict(ds=2, topn=3), "align_wide": dict(ds=2, topn=3, beam=1e-80, pbeam=1e-80, wbeam=1e-60)}
# Word recognition without a transcript: a lighter language-model weight than the default 6.5
# lets the acoustics win more often: on the benchmark's synthetic set, bilabials 91% -> 94% and
# all classes 89.3% -> 89.9%; spontaneous MFA speech unchanged within noise (61% -> 60%).
WORD_RECOGNITION_CONFIG = dict(lw=4.0, maxhmmpf=3000, maxwpf=10)
# Phone-recognition settings, tuned on speech with reference alignments (see benchmarks/).
PHONE_RECOGNITION_CONFIG = dict(lw=2.0, beam=1e-20, pbeam=1e-20)
# The mismatch check's free phone recognition scores Gaussians like the aligners (topn, above),
# so the two scores per frame compare like with like.
CHECK_CONFIG = dict(PHONE_RECOGNITION_CONFIG, topn=3)

_lock = threading.Lock()
_decoders: dict[str, object] = {}
# Pronunciations given to the aligners so far (word -> its cmudict or spelling-based ones). The
# aligners and the phone recogniser start with an empty dictionary: parsing cmudict is most of a
# decoder's build time (0.12 of 0.13 s), and they only need the words of the transcripts.
_known: dict[str, list[str]] = {}
_guessed_words: set[str] = set()  # those of them cmudict lacks (pronounced from spelling)


def _model_dir() -> str:
    return native.load("pocketsphinx").get_model_path()


def _decoder(kind: str):
    """Process-wide decoders: 'align' (forced alignment), 'words' (large-vocabulary word
    recognition), 'phones' (free phone recognition) and 'check' (the same, scored like the aligners)."""
    if kind not in _decoders:
        Decoder = native.load("pocketsphinx").Decoder
        model = _model_dir()
        common = dict(hmm=os.path.join(model, "en-us", "en-us"), dict=os.devnull,
                      loglevel="FATAL", bestpath=False)
        try:
            if kind in ALIGNERS:
                dec = Decoder(**common, lm=None, **ALIGNERS[kind])
                for word, prons in _known.items():
                    _add_word(dec, word, prons)
                _decoders[kind] = dec
            elif kind == "words":  # its language model needs the whole dictionary
                _decoders[kind] = Decoder(**{**common, "dict": cmudict_path()},
                                          lm=os.path.join(model, "en-us", "en-us.lm.bin"), **WORD_RECOGNITION_CONFIG)
            else:
                _decoders[kind] = Decoder(**common, allphone=os.path.join(model, "en-us", "en-us-phone.lm.bin"),
                                          **(CHECK_CONFIG if kind == "check" else PHONE_RECOGNITION_CONFIG))
        except Exception as exc:
            raise native.pocketsphinx_failure(model, exc) from None
    return _decoders[kind]


@dataclass
class _Segment:
    start: int  # sample index
    end: int


RECOGNIZERS = ("words", "phones")


def phone_track(clip: AudioClip, transcript: str | None = None,
                progress: Callable[[float], None] | None = None, recognizer: str = "words") -> PhoneTrack:
    """Timed phones for ``clip``; forced alignment with a transcript, recognition without.

    Without a transcript, ``recognizer="words"`` recognises words with PocketSphinx's English
    language model and force-aligns them (the lexicon keeps phone sequences plausible, which
    measured far better on mouth shapes: 90% vs 78%, at about 0.4 s per audio second);
    ``"phones"`` runs free phone recognition (about 0.05 s per audio second).
    """
    if recognizer not in RECOGNIZERS:
        raise TalkclipError(f"unknown recognizer {recognizer!r}; use one of {', '.join(RECOGNIZERS)}")
    report = progress or (lambda f: None)
    notes: list[str] = []
    segments = split_at_pauses(clip)
    words: list[str] = []
    if transcript is not None:
        words = normalise_transcript(transcript)
        if not words:
            notes.append("transcript has no words; recognising phones instead")
    phones: list[tuple[str, float, float]] = []
    word_times: list[tuple[str, float, float]] = []
    source = "alignment" if words else "recognition"
    if words:
        with _lock:
            oov = _ensure_pronunciations(words)
            words = [w for w in words if _known.get(w)]  # unpronounceable ones are left out
        if oov:
            shown = ", ".join(oov[:8]) + (f" and {len(oov) - 8} more" if len(oov) > 8 else "")
            notes.append(f"not in the pronunciation dictionary, pronounced from spelling: {shown}")
    total = max(sum(s.end - s.start for s in segments), 1)
    if words:
        quiet = pause_mask(loudness_db(clip.samples))
        phones, word_times, failed, scores, _ = _align_sequence(clip, segments, words, quiet, depth=0,
                                                        report=lambda done: report(done / total))
        for a, b in failed:
            notes.append(f"alignment failed for {a:.1f}-{b:.1f} s; recognised phones there instead")
    done = 0
    for seg in segments if not words else ():
        offset = seg.start / SAMPLE_RATE
        chunk = clip.int16(seg.start, seg.end)
        with _lock:
            seg_phones = _recognise_words(chunk) if recognizer == "words" else None
            if seg_phones is None:
                seg_phones = _recognise(chunk)
        phones += [(p, s + offset, e + offset) for p, s, e in seg_phones]
        done += seg.end - seg.start
        report(done / total)
    if words:
        failed = sum(_span_of(n) for n in notes if n.startswith("alignment failed"))
        if failed > MAX_FAILED_SHARE * clip.duration or not word_times:
            raise TalkclipError(f"{clip.source}: the transcript does not match the audio (forced alignment "
                                f"failed on {failed:.1f} of {clip.duration:.1f} s); check the text, or leave "
                                "the transcript out")
        if len(word_times) < (1.0 - MAX_FAILED_SHARE) * len(words):
            raise TalkclipError(f"{clip.source}: the transcript does not match the audio (only {len(word_times)} "
                                f"of its {len(words)} words were found in it); check the text, or leave "
                                "the transcript out")
        try:
            doubt = _check_transcript_matches(clip, scores)
        except TalkclipError:
            # One segment scoring far worse than free recognition: before refusing the text,
            # try plain forced alignment, which follows very stretched speech better.
            with _lock:
                plain = _align(clip.int16(), words) if len(segments) == 1 and not failed else None
            if plain is None or plain[2] <= _mean_score(scores):
                raise
            phones, word_times = plain[0], plain[1]
            hop = int(FRAME_SECONDS * SAMPLE_RATE)
            scores = [(plain[2], len(clip.samples) // hop, 0, len(clip.samples))]
            doubt = _check_transcript_matches(clip, scores)
        if doubt:
            notes.append(doubt)
    track = _to_track(phones, clip.duration, source, word_times, notes)
    report(1.0)
    return track


def _align_sequence(clip: AudioClip, segments: list[_Segment], words: list[str], quiet: np.ndarray,
                    depth: int, report: Callable[[int], None] | None = None, finish: bool = True):
    """Align consecutive segments against consecutive runs of ``words``.

    Each segment's grammar search (``_align_segment``) finds how many of the next words were
    spoken in it, near an estimate in proportion to its speech time. A segment that fails is
    cut at its middle pause and the halves are tried the same way; pieces that still fail are
    phone-recognised, and the next segment may then start some words before or after the
    estimated one. With ``finish`` the last segment must use up all the words. Returns (phones,
    words, failed spans, acoustic score per frame of each aligned segment, number of words
    used), times absolute.
    """
    hop = int(FRAME_SECONDS * SAMPLE_RATE)
    speech = np.array([np.sum(~quiet[s.start // hop:s.end // hop]) for s in segments], dtype=float) + 1.0
    phones: list = []
    word_times: list = []
    failed: list = []
    scores: list[tuple] = []  # (acoustic score per frame, frames, start, end sample) per aligned segment
    pos = 0
    back = ahead = 0  # how far before / after ``pos`` the next segment may start
    done = 0
    for i, seg in enumerate(segments):
        remaining = len(words) - pos
        last = finish and i == len(segments) - 1
        k = remaining if last else int(round(remaining * speech[i] / speech[i:].sum()))
        offset = seg.start / SAMPLE_RATE
        pcm = clip.int16(seg.start, seg.end)
        with _lock:
            result, start, count = _align_segment(pcm, words, pos, k, last, back, ahead)
        if result is not None:
            seg_phones, seg_words, score = result
            scores.append((score, len(pcm) // hop, seg.start, seg.end))
            phones += [(p, s + offset, e + offset) for p, s, e in seg_phones]
            word_times += [(w, s + offset, e + offset) for w, s, e in seg_words]
            # the search may have stopped a few words early, inside a noisy stretch
            pos, back, ahead = start + count, 0, max(3, count // 2)
        else:
            halves = _split_in_two(clip, seg) if depth < MAX_SPLIT_DEPTH and k > 3 and not back else None
            used, f = 0, []
            if halves is not None:
                p, w, f, sc, used = _align_sequence(clip, halves, words[pos:], quiet, depth + 1, finish=last)
                phones += p; word_times += w; failed += f; scores += sc
            if used == 0:
                if halves is None:
                    with _lock:
                        seg_phones = _recognise(pcm)
                    phones += [(p, s + offset, e + offset) for p, s, e in seg_phones]
                    failed.append((offset, seg.end / SAMPLE_RATE))
                # where this segment's words ended is unknown: search both ways next
                pos, back = pos + k, back + max(k, 4)
                ahead = back
            else:
                pos, back, ahead = pos + used, (max(4, used // 2) if f else 0), max(3, used // 2)
        pos = min(pos, len(words))
        done += seg.end - seg.start
        if report is not None:
            report(done)
    return phones, word_times, failed, scores, pos


def _align_segment(pcm: np.ndarray, words: Sequence[str], pos: int, k: int, last: bool,
                   back: int = 0, ahead: int = 0):
    """Align one segment: (result, first word, word count); result None when nothing aligned.

    A grammar search on the wide-beam aligner (see ``_grammar``) finds which of the next words
    were spoken and where (for the last segment: all the remaining ones), and a second pass
    times their phones along that path. It placed phones better on hoarse spontaneous speech
    than plain forced alignment (MFA monologues: 95.0% vs 91.7% of mouth shapes right).
    """
    if last and (back, ahead) != (0, 0):
        # after an uncertain boundary: first try the expected start (wide beams)
        result = _align(pcm, words[pos:], ("align_wide",))
        if result is not None:
            return result, pos, len(words) - pos
    dec = _decoder("align_wide")
    grammar = _grammar(dec, words, pos, k, last, back, ahead)
    if grammar is None:
        return None, pos, k
    window, lo = grammar
    raw = pcm.tobytes()
    try:
        dec.activate_search("segment")
        _decode(dec, raw)
        hyp = dec.hyp()
        said = [_base_word(w) for w in hyp.hypstr.split()] if hyp is not None else []
        result = _phone_alignment(dec, raw) if said else None
    except RuntimeError:
        result = None
    if result is None:
        return None, pos, k
    # where the spoken run starts: the matching start nearest the estimate
    starts = [j for j in range(0, pos + ahead - lo + 1) if window[j:j + len(said)] == said]
    if not starts:
        return None, pos, k
    j = min(starts, key=lambda j: abs(lo + j - pos))
    return result, lo + j, len(said)


# Grammar weights (a plain continuation to the next word: 1): ending a segment after a word,
# and starting it elsewhere than at the expected word.
STOP_PROBABILITY = 0.01
JUMP_PROBABILITY = 0.01
SEARCH_AHEAD = (3.0, 20)  # a segment's grammar reaches at most 3 * estimate + 20 words ahead


def _grammar(dec, words: Sequence[str], pos: int, k: int, last: bool, back: int, ahead: int):
    """Make the decoder's "segment" search a finite-state grammar of ``words`` in order, starting
    at ``pos`` (or up to ``back`` words before / ``ahead`` words after it) and ending after any
    word (the last segment: only after the last word). Returns (window of words, index of its
    first word), or None when there is nothing to align. Every path is a word sequence, so the
    best one can be phone-aligned directly."""
    lo = max(0, pos - back)
    pos = min(pos, len(words) - 1)
    first = min(pos + ahead, len(words) - 1)
    hi = len(words) if last else min(len(words), first + int(SEARCH_AHEAD[0] * max(k, 1)) + SEARCH_AHEAD[1])
    window = list(words[lo:hi])
    if not window or pos < lo:
        return None
    n = len(window)
    entry, final = 0, n + 1  # state j (1..n) is "after word j-1 of the window"
    trans = []
    for j, w in enumerate(window):
        sources = [(j, 1.0)] if j > 0 else []
        if j <= first - lo:
            sources.append((entry, 1.0 if lo + j == pos else JUMP_PROBABILITY))
        targets = [(j + 1, 1.0)] if j < n - 1 else []
        if j == n - 1 or not last:
            targets.append((final, 1.0 if j == n - 1 else STOP_PROBABILITY))
        trans += [(a, b, pa * pb, w) for a, pa in sources for b, pb in targets]
    try:
        dec.add_fsg("segment", dec.create_fsg("segment", entry, final, trans))
    except (RuntimeError, ValueError):
        return None
    return window, lo


def _split_in_two(clip: AudioClip, seg: _Segment):
    """Cut a segment at the longest pause in its middle half (or in the middle)."""
    hop = int(FRAME_SECONDS * SAMPLE_RATE)
    quiet = pause_mask(loudness_db(clip.samples[seg.start:seg.end]))
    n = len(quiet)
    if n * FRAME_SECONDS < 2 * MIN_SPLIT_S:
        return None
    best, best_len, run = None, 0, 0
    for i in range(n // 4, 3 * n // 4):
        run = run + 1 if quiet[i] else 0
        if run > best_len:
            best_len, best = run, i - run // 2
    cut = seg.start + (best if best is not None and best_len >= 10 else n // 2) * hop
    return [_Segment(seg.start, cut), _Segment(cut, seg.end)]


def _span_of(note: str) -> float:
    a, b = re.search(r"for ([\d.]+)-([\d.]+) s", note).groups()
    return float(b) - float(a)


def _ensure_pronunciations(words: Sequence[str]) -> list[str]:
    """Give the aligners every pronunciation of ``words`` (cmudict's, or for a word it lacks a
    spelling-based guess); return the words cmudict lacks. Aligners built later get them when
    built. Call with ``_lock`` held."""
    missing = []
    for w in dict.fromkeys(words):
        if w in _known:
            if w in _guessed_words:
                missing.append(w)
            continue
        prons = cmudict().lookup(w)
        if not prons:
            missing.append(w)
            _guessed_words.add(w)
            guess = guess_pronunciation(w)
            prons = [" ".join(guess)] if guess else []
        _known[w] = prons
        for kind in ALIGNERS:
            if kind in _decoders:
                _add_word(_decoders[kind], w, prons)
    return missing


def _add_word(dec, word: str, prons: Sequence[str]) -> None:
    """Add ``word`` with its pronunciations (variants as ``word(2)``...) to a decoder's dictionary;
    searches made afterwards (each alignment makes its own) see them."""
    for i, pron in enumerate(prons):
        dec.add_word(word if i == 0 else f"{word}({i + 1})", pron, False)


def _base_word(name: str) -> str:
    """Dictionary word without its pronunciation-variant mark (``the(2)`` -> ``the``)."""
    return re.sub(r"\(\d+\)$", "", name)


def _is_filler(word: str) -> bool:
    """PocketSphinx's non-words: silence and sentence marks (``<sil>``, ``<s>``), noise
    (``[NOISE]``) and filler models (``+SPN+``)."""
    return word.startswith(("<", "[", "+"))


def _decode(dec, raw: bytes) -> None:
    """One whole-utterance pass of ``dec`` over 16-bit PCM bytes."""
    dec.start_utt()
    dec.process_raw(raw, full_utt=True)
    dec.end_utt()


def _align(pcm: np.ndarray, words: Sequence[str], kinds: Sequence[str] = tuple(ALIGNERS)):
    """Forced alignment of one segment to all of ``words``: (phones, words, score) or None."""
    for kind in kinds:
        result = _align_with(_decoder(kind), pcm, words)
        if result is not None:
            return result
    return None


def _align_with(dec, pcm: np.ndarray, words: Sequence[str]):
    text = " ".join(w for w in words if dec.lookup_word(w) is not None)
    if not text:
        return None
    raw = pcm.tobytes()
    try:
        dec.set_align_text(text)
        _decode(dec, raw)
        if dec.hyp() is None:
            return None
        return _phone_alignment(dec, raw)
    except RuntimeError:
        return None


def _phone_alignment(dec, raw: bytes):
    """Second pass over the decoder's best word path: (phones, words, acoustic score per frame)."""
    dec.set_alignment()
    _decode(dec, raw)
    alignment = dec.get_alignment()
    if alignment is None:
        return None
    phones = [(p.name, p.start * FRAME_SECONDS, (p.start + p.duration) * FRAME_SECONDS, p.score)
              for p in alignment.phones()]
    word_list = [(_base_word(w.name), w.start * FRAME_SECONDS,
                  (w.start + w.duration) * FRAME_SECONDS) for w in alignment.words()]
    if not phones:
        return None
    frames = sum(max(e - s, FRAME_SECONDS) for _, s, e, _ in phones) / FRAME_SECONDS
    score_per_frame = sum(sc for *_, sc in phones) / max(frames, 1.0)
    return ([(n, s, e) for n, s, e, _ in phones], [w for w in word_list if not _is_filler(w[0])],
            score_per_frame)


def _recognise(pcm: np.ndarray) -> list[tuple[str, float, float]]:
    dec = _decoder("phones")
    _decode(dec, pcm.tobytes())
    return [(s.word, s.start_frame * FRAME_SECONDS, (s.end_frame + 1) * FRAME_SECONDS)
            for s in dec.seg() or ()]  # None when the piece is too short to decode


def _recognise_words(pcm: np.ndarray) -> list[tuple[str, float, float]] | None:
    """Recognise words, then force-align them for phone timing; None if nothing usable."""
    dec = _decoder("words")
    _decode(dec, pcm.tobytes())
    hyp = dec.hyp()
    words = [_base_word(w) for w in (hyp.hypstr.split() if hyp else [])]
    words = [w for w in words if not _is_filler(w)]
    if not words:
        return None
    _ensure_pronunciations(words)
    result = _align(pcm, words)
    return result[0] if result is not None else None


def _recognition_score_per_frame(pcm: np.ndarray) -> float:
    dec = _decoder("check")
    _decode(dec, pcm.tobytes())
    logmath = dec.get_logmath()
    segs = list(dec.seg())
    frames = sum(s.end_frame - s.start_frame + 1 for s in segs)
    return sum(logmath.log(max(s.ascore, 1e-300)) for s in segs) / max(frames, 1)


def _mean_score(scores: list[tuple]) -> float:
    """Frame-weighted acoustic score per frame of aligned segments (score, frames, start, end)."""
    frames = sum(f for _, f, _, _ in scores)
    return sum(sc * f for sc, f, _, _ in scores) / frames if frames else 0.0


def _check_transcript_matches(clip: AudioClip, scores: list[tuple]) -> str | None:
    """Raise when the alignment scores far worse than free phone recognition of the same audio;
    return a note when it is doubtful.

    Nothing is checked when the take's acoustic score per frame is good. Otherwise free
    recognition (about 0.05 s of CPU per second checked) scores the whole of a one-segment take
    (most dialogue lines), or the middle ``CHECK_EXCERPT_S`` of the ``CHECK_SEGMENTS``
    worst-scoring segments of a longer one, and their alignment score per frame is compared
    with it."""
    if not scores or _mean_score(scores) > SUSPICIOUS_SCORE_PER_FRAME:
        return None
    worst = sorted(scores)[:CHECK_SEGMENTS]
    half = int((SEGMENT_MAX_S if len(scores) == 1 else CHECK_EXCERPT_S) * SAMPLE_RATE / 2)
    free = []
    for _, _, start, end in worst:
        mid = (start + end) // 2
        with _lock:
            free.append(_recognition_score_per_frame(clip.int16(max(start, mid - half), min(end, mid + half))))
    free_mean = float(np.mean(free))
    ratio = _mean_score(worst) / free_mean if free_mean < 0 else 0.0
    if ratio > MISMATCH_RATIO and _mean_score(worst) < MISMATCH_SCORE_PER_FRAME:
        raise TalkclipError(f"{clip.source}: the transcript does not match the audio (alignment scores "
                            f"{ratio:.1f}x worse than free recognition); check the text, "
                            "or leave the transcript out")
    if ratio > DOUBT_RATIO:
        return (f"the transcript may not match the audio (alignment scores {ratio:.1f}x worse than free "
                "recognition); check the lip sync or the text")
    return None


def _to_track(phones, duration, source, word_times, notes) -> PhoneTrack:
    names, starts, ends = [], [], []
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
                names.append(SILENCE); starts.append(ends[-1]); ends.append(s)
        names.append(label); starts.append(s); ends.append(e)
    if not names:
        names, starts, ends = [SILENCE], [0.0], [duration]
    if ends[-1] < duration - 1e-6:
        if names[-1] == SILENCE:
            ends[-1] = duration
        else:
            names.append(SILENCE); starts.append(ends[-1]); ends.append(duration)
    return PhoneTrack(phones=names, starts=starts, ends=ends, duration=duration, source=source,
                      words=[w for w, _, _ in word_times], word_starts=[s for _, s, _ in word_times],
                      word_ends=[e for _, _, e in word_times], notes=notes)


# --- segmentation -------------------------------------------------------------------------

def pause_mask(level_db: np.ndarray) -> np.ndarray:
    """(F,) True where a 10 ms frame is quiet enough to count as a pause."""
    if len(level_db) == 0:
        return np.zeros(0, bool)
    lo, hi = np.percentile(level_db, 5), np.percentile(level_db, 95)
    threshold = max(lo + 10.0, hi - 40.0)
    return level_db < threshold


def split_at_pauses(clip: AudioClip, target_s: float = SEGMENT_TARGET_S,
                    max_s: float = SEGMENT_MAX_S) -> list[_Segment]:
    """Cut a long clip at pauses into segments of about ``target_s`` (never over ``max_s``)."""
    n = len(clip.samples)
    if n <= max_s * SAMPLE_RATE:
        return [_Segment(0, n)]
    quiet = pause_mask(loudness_db(clip.samples))
    hop = int(FRAME_SECONDS * SAMPLE_RATE)
    # centres of pauses at least MIN_PAUSE_S long, with their lengths
    pauses: list[tuple[int, int]] = []
    run_start = None
    for i, q in enumerate(np.append(quiet, False)):
        if q and run_start is None:
            run_start = i
        elif not q and run_start is not None:
            if (i - run_start) * FRAME_SECONDS >= MIN_PAUSE_S:
                pauses.append(((run_start + i) // 2 * hop, i - run_start))
            run_start = None
    cuts = [0]
    while n - cuts[-1] > max_s * SAMPLE_RATE:
        lo = cuts[-1] + int(0.5 * target_s * SAMPLE_RATE)
        hi = cuts[-1] + int(max_s * SAMPLE_RATE)
        window = [(length, -abs(pos - (cuts[-1] + target_s * SAMPLE_RATE)), pos)
                  for pos, length in pauses if lo <= pos <= hi]
        cuts.append(max(window)[2] if window else cuts[-1] + int(target_s * SAMPLE_RATE))
    cuts.append(n)
    return [_Segment(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
