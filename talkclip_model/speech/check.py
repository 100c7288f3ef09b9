"""Does the transcript match the audio? Refuse only text that plainly belongs to other audio; note
text that may not match, and animate it.

Two kinds of evidence, neither a single global ratio:

- **Coverage**: alignment failed on more than half of the take, or found fewer than half of the
  transcript's words (``refuse_unmatched``). Most wrong transcripts end here.
- **Word fit** (``transcript_doubt``): each aligned word's acoustic score per frame is compared
  with free phone recognition of the same frames, the best the acoustic model can do there. A
  word more than ``POOR_WORD_GAP`` worse per frame fits poorly. Text whose words mostly fit poorly
  (by their frames), and that fit far worse on average, is refused; in a long take one excerpt
  must show that and the other at least doubt, so one hoarse or noisy stretch alone is a note.
  Text with many poorly fitting words gets a note. Other languages than English are aligned with
  the English acoustic model, so their right transcripts fit worse (mbrola voices of 9 languages:
  up to 64% poor frames, 44 per frame worse) and refusing them takes stronger evidence
  (``FIT_LIMITS``).

The measurements behind the limits: docs/languages.md ("The transcript check").
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from talkclip_model.errors import TalkclipError
from talkclip_model.speech.align import SegmentAlignment, TakeAlignment
from talkclip_model.speech.audio import HOP_SECONDS, SAMPLE_RATE, AudioClip
from talkclip_model.speech.segments import SEGMENT_MAX_S
from talkclip_model.speech.sphinx import POOL, decode

MAX_FAILED_SHARE = 0.5  # more of the audio than this unalignable: the transcript is wrong
# Alignment scores per frame above this are not checked (right transcripts of clean speech score
# -5 to -25; wrong ones that align at all -29 or worse).
SUSPICIOUS_SCORE_PER_FRAME = -25.0
POOR_WORD_GAP = 40.0  # a word scoring this much worse per frame than free recognition fits poorly
MIN_WORDS = 4  # fewer words checked: a note at most, and only when both signs agree


class FitLimit(NamedTuple):
    """Share of the checked frames in poorly fitting words, and mean gap per frame (negative),
    past which an excerpt plainly does not match (both) or is in doubt (either)."""

    refuse_share: float
    refuse_gap: float
    note_share: float
    note_gap: float


# Measured (docs/languages.md). English, right text: at most 39% poor frames and -39 per frame
# (a hoarse speaker); wrong text that aligned: 54-100% and -44 to -66. Other languages (mbrola,
# 9 languages, 20 voices): right text at most 64% and -44; wrong text spreads from fitting
# well (a few words in common) to 100% and -80.
FIT_LIMITS = {"en": FitLimit(0.5, -40.0, 0.3, -30.0), "other": FitLimit(0.7, -50.0, 0.5, -40.0)}
CHECK_EXCERPT_S = 4.0  # a long take: how much is checked from the middle of two segments

_ADVICE = "check the text, or leave the transcript out"


def refuse_unmatched(clip: AudioClip, take: TakeAlignment, n_words: int) -> None:
    """Raise when alignment failed on too much of the clip, or found too few of its words."""
    failed = sum(end - start for start, end in (span.seconds for span in take.failed))
    found = len(take.words)
    if failed > MAX_FAILED_SHARE * clip.duration or not found:
        raise TalkclipError(f"{clip.source}: the transcript does not match the audio (forced alignment "
                            f"failed on {failed:.1f} of {clip.duration:.1f} s); {_ADVICE}")
    if found < (1.0 - MAX_FAILED_SHARE) * n_words:
        raise TalkclipError(f"{clip.source}: the transcript does not match the audio (only {found} "
                            f"of its {n_words} words were found in it); {_ADVICE}")


def mean_score(aligned: Sequence[SegmentAlignment]) -> float:
    """Frame-weighted acoustic score per frame of aligned segments."""
    frames = sum(a.frames for a in aligned)
    return sum(a.score_per_frame * a.frames for a in aligned) / frames if frames else 0.0


def free_scores(pcm: np.ndarray) -> np.ndarray:
    """Acoustic score of free phone recognition of 16-bit ``pcm`` per 10 ms frame (each
    recognised phone's score spread over its frames; NaN where none) (hold ``POOL.lock``)."""
    dec = POOL.decoder("check")
    decode(dec, pcm.tobytes())
    logmath = dec.get_logmath()
    out = np.full(len(pcm) // int(SAMPLE_RATE * HOP_SECONDS) + 2, np.nan)
    for s in dec.seg() or ():
        lo, hi = max(s.start_frame, 0), min(s.end_frame + 1, len(out))
        if hi > lo:
            out[lo:hi] = logmath.log(max(s.ascore, 1e-300)) / (s.end_frame - s.start_frame + 1)
    return out


def recognition_score_per_frame(pcm: np.ndarray) -> float:
    """Acoustic score per frame of free phone recognition of 16-bit ``pcm`` (hold ``POOL.lock``)."""
    scores = free_scores(pcm)
    return float(np.nanmean(scores)) if np.any(~np.isnan(scores)) else 0.0


def _excerpts(aligned: Sequence[SegmentAlignment]) -> list[tuple[SegmentAlignment, int, int]]:
    """(segment, first sample, end sample) checked: the whole of a one-segment take, else the
    middle CHECK_EXCERPT_S of the worst-scoring segment and of the median one (a take with one
    hoarse or noisy stretch is not refused for that stretch alone)."""
    if len(aligned) == 1:
        a = aligned[0]
        return [(a, a.start, min(a.end, a.start + int(SEGMENT_MAX_S * SAMPLE_RATE)))]
    ranked = sorted(aligned, key=lambda a: (a.score_per_frame, a.frames, a.start, a.end))
    half = int(CHECK_EXCERPT_S * SAMPLE_RATE / 2)
    return [(a, max(a.start, (a.start + a.end) // 2 - half), min(a.end, (a.start + a.end) // 2 + half))
            for a in (ranked[0], ranked[len(ranked) // 2])]


class Fit(NamedTuple):
    """How the words of one checked excerpt fit the audio: how many words, the share of their
    frames in poorly fitting words, and their mean gap per frame (negative: worse than free
    phone recognition)."""

    words: int
    poor: float
    gap: float

    def describe(self) -> str:
        return (f"{self.poor:.0%} of the {self.words} words checked fit it poorly, {-self.gap:.0f} per frame "
                "worse than free phone recognition")


def word_fit(clip: AudioClip, segment: SegmentAlignment, lo: int, hi: int) -> Fit | None:
    """How the words of ``segment`` fit samples ``lo:hi``: each word's alignment score per frame
    minus free recognition's on its frames there, weighted by those frames; None when no word
    lies there."""
    with POOL.lock:
        free = free_scores(clip.int16(lo, hi))
    offset = lo / SAMPLE_RATE
    gaps, weights = [], []
    for word, score in zip(segment.words, segment.word_scores):
        first = int(round((word.start - offset) / HOP_SECONDS))
        end = int(round((word.end - offset) / HOP_SECONDS))
        inside = free[max(first, 0):max(min(end, len(free)), 0)]
        inside = inside[~np.isnan(inside)]
        if end <= first or not len(inside):
            continue
        gaps.append(score / (end - first) - float(inside.mean()))
        weights.append(len(inside))
    if not gaps:
        return None
    gap, weight = np.asarray(gaps), np.asarray(weights, dtype=np.float64)
    return Fit(len(gaps), float(weight[gap < -POOR_WORD_GAP].sum() / weight.sum()), float(np.average(gap, weights=weight)))


def _in_doubt(fit: Fit, limit: FitLimit) -> bool:
    """Either sign of a poor fit; both for an excerpt of few words (a short line, Japanese written
    without spaces), which is weak evidence."""
    poor, far = fit.poor >= limit.note_share, fit.gap <= limit.note_gap
    return (poor or far) if fit.words >= MIN_WORDS else (poor and far)


def transcript_doubt(clip: AudioClip, aligned: Sequence[SegmentAlignment], language: str = "en") -> str | None:
    """Raise when the transcript's words mostly fit the audio far worse than free phone
    recognition (in a long take: in one excerpt checked, and doubtfully in the other too);
    return a note when many fit poorly; None when the take is not in doubt (or scores too well
    to check: then nothing is run)."""
    if not aligned or mean_score(aligned) > SUSPICIOUS_SCORE_PER_FRAME:
        return None
    limit = FIT_LIMITS.get(language, FIT_LIMITS["other"])
    fits = sorted((fit for fit in (word_fit(clip, *excerpt) for excerpt in _excerpts(aligned)) if fit is not None),
                  key=lambda f: (-f.poor, f.gap))
    if not fits:
        return None
    doubtful = [f for f in fits if _in_doubt(f, limit)]
    plainly = [f for f in fits if f.poor >= limit.refuse_share and f.gap <= limit.refuse_gap]
    if plainly and len(doubtful) == len(fits) and sum(f.words for f in fits) >= MIN_WORDS:
        raise TalkclipError(f"{clip.source}: the transcript does not match the audio ({plainly[0].describe()}); "
                            f"{_ADVICE}")
    if doubtful:
        return f"the transcript may not match the audio ({doubtful[0].describe()}); check the lip sync or the text"
    return None
