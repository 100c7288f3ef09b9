"""Does the transcript match the audio? Refuse a transcript that left too much unaligned or found
too few of its words, and one whose alignment scores far worse than free phone recognition of
the same audio; note one that scores doubtfully. The thresholds' measurements are in
docs/decisions/speech.md.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from talkclip_model.errors import TalkclipError
from talkclip_model.speech.align import SegmentAlignment, TakeAlignment
from talkclip_model.speech.audio import SAMPLE_RATE, AudioClip
from talkclip_model.speech.segments import SEGMENT_MAX_S
from talkclip_model.speech.sphinx import POOL, decode

MAX_FAILED_SHARE = 0.5  # more of the audio than this unalignable: the transcript is wrong
# Alignment scores per frame above this are not checked (matched transcripts score within
# about 2x of free recognition, mismatched ones 5-10x worse) ...
SUSPICIOUS_SCORE_PER_FRAME = -25.0
# ... and an error also needs a score this bad (free recognition fits synthetic voices so well
# that right transcripts of short lines reach a ratio near 5)
MISMATCH_SCORE_PER_FRAME = -28.0
MISMATCH_RATIO = 4.5  # alignment this many times worse than free recognition: an error
DOUBT_RATIO = 3.3  # ... this many times: a note
CHECK_SEGMENTS = 1  # in a long take, how many of the worst-scoring segments are checked
CHECK_EXCERPT_S = 2.5  # ... on this much from the middle of each

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


def recognition_score_per_frame(pcm: np.ndarray) -> float:
    """Acoustic score per frame of free phone recognition of 16-bit ``pcm`` (hold ``POOL.lock``)."""
    dec = POOL.decoder("check")
    decode(dec, pcm.tobytes())
    logmath = dec.get_logmath()
    segs = list(dec.seg())
    frames = sum(s.end_frame - s.start_frame + 1 for s in segs)
    return sum(logmath.log(max(s.ascore, 1e-300)) for s in segs) / max(frames, 1)


def transcript_doubt(clip: AudioClip, aligned: Sequence[SegmentAlignment]) -> str | None:
    """Raise when the alignment scores far worse than free phone recognition of the same audio;
    return a note when it is doubtful.

    Nothing is checked when the take's acoustic score per frame is good. Otherwise free
    recognition (about 0.05 s of CPU per second checked) scores the whole of a one-segment take
    (most dialogue lines), or the middle ``CHECK_EXCERPT_S`` of the ``CHECK_SEGMENTS``
    worst-scoring segments of a longer one, and their alignment score per frame is compared
    with it."""
    if not aligned or mean_score(aligned) > SUSPICIOUS_SCORE_PER_FRAME:
        return None
    worst = sorted(aligned, key=lambda a: (a.score_per_frame, a.frames, a.start, a.end))[:CHECK_SEGMENTS]
    half = int((SEGMENT_MAX_S if len(aligned) == 1 else CHECK_EXCERPT_S) * SAMPLE_RATE / 2)
    free = []
    for a in worst:
        mid = (a.start + a.end) // 2
        with POOL.lock:
            free.append(recognition_score_per_frame(clip.int16(max(a.start, mid - half), min(a.end, mid + half))))
    free_mean = float(np.mean(free))
    ratio = mean_score(worst) / free_mean if free_mean < 0 else 0.0
    if ratio > MISMATCH_RATIO and mean_score(worst) < MISMATCH_SCORE_PER_FRAME:
        raise TalkclipError(f"{clip.source}: the transcript does not match the audio (alignment scores "
                            f"{ratio:.1f}x worse than free recognition); {_ADVICE}")
    if ratio > DOUBT_RATIO:
        return (f"the transcript may not match the audio (alignment scores {ratio:.1f}x worse than free "
                "recognition); check the lip sync or the text")
    return None
