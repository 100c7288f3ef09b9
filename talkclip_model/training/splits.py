"""The held-out split of the vocabulary: the emotion words and idioms training never sees.

A stable hash decides (``is_heldout``): 12 % of the emotion words (never one of ``CORE_WORDS``)
and 25 % of the idioms and situations. They stay in the run-time lexicon; evaluation scores them
with ``heldout_free_lexicon()``, so the held-out scores measure the learned part.
"""

from __future__ import annotations

import functools
import zlib

from talkclip_model.style.lexicon import Lexicon, default_lexicon
from talkclip_model.style.vocabulary import vocabulary

WORD_SHARE = 0.12
PHRASE_SHARE = 0.25
CORE_WORDS = {"happy", "sad", "angry", "furious", "annoyed", "irritated", "scared", "afraid", "terrified", "surprised",
              "shocked", "disgusted", "content", "ecstatic", "nervous", "calm", "neutral", "bored", "tired", "confused",
              "excited", "worried", "proud", "embarrassed", "contemptuous", "disappointed", "frustrated", "amused", "anxious",
              "relaxed", "serious", "smug", "skeptical", "mad", "joyful", "delighted", "miserable", "heartbroken",
              "frightened", "astonished", "revolted", "elated", "gloomy", "thoughtful", "curious", "shy", "sleepy", "in pain"}


def is_heldout(key: str, share: float) -> bool:
    """A stable split by hash: ``share`` of all keys are held out of training."""
    return (zlib.crc32(key.encode()) % 1000) / 1000.0 < share


@functools.cache
def heldout_words() -> tuple[str, ...]:
    return tuple(sorted(w for w in vocabulary().words if w not in CORE_WORDS and is_heldout("w:" + w, WORD_SHARE)))


@functools.cache
def heldout_phrases() -> tuple[str, ...]:
    """Held-out idioms and situations."""
    return tuple(sorted(s for s in vocabulary().phrases if is_heldout("s:" + s, PHRASE_SHARE)))


@functools.cache
def heldout_sources() -> frozenset[str]:
    return frozenset(heldout_words()) | frozenset(heldout_phrases())


@functools.cache
def heldout_free_lexicon() -> Lexicon:
    """The run-time lexicon less the held-out words and idioms (and their nouns, adverbs and forms)."""
    return default_lexicon().without(heldout_sources())
