"""PocketSphinx: the process's decoders and the pronunciations given to them (``POOL``), and the
single decoder passes that alignment and recognition are built from.

Decoders are built once per process and reused; every use of one holds ``POOL.lock``.
PocketSphinx 5 aligns only with ``bestpath=False`` (its default config fails on the second pass).
Why each setting has the value it has: docs/decisions/speech.md.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from talkclip_model import native
from talkclip_model.speech.audio import HOP_SECONDS
from talkclip_model.speech.cmudict import cmudict
from talkclip_model.speech.cmudict import dictionary_path as cmudict_path
from talkclip_model.speech.g2p import guess_pronunciation

# Forced alignment: default beams, and wide beams for hoarse or noisy speech, where default beams
# prune the right path. Gaussians on every second frame (ds=2), top 3 per codebook: faster, same
# mouth shapes.
ALIGNERS: dict[str, dict[str, float]] = {
    "align": dict(ds=2, topn=3),
    "align_wide": dict(ds=2, topn=3, beam=1e-80, pbeam=1e-80, wbeam=1e-60),
}
# Word recognition: a lighter language-model weight than the default 6.5 lets the acoustics win.
WORD_RECOGNITION_CONFIG = dict(lw=4.0, maxhmmpf=3000, maxwpf=10)
PHONE_RECOGNITION_CONFIG = dict(lw=2.0, beam=1e-20, pbeam=1e-20)  # tuned on reference alignments
# The mismatch check's free phone recognition scores Gaussians like the aligners (topn), so the
# two scores per frame compare like with like.
CHECK_CONFIG = dict(PHONE_RECOGNITION_CONFIG, topn=3)


class Phones(NamedTuple):
    """A pronunciation: the acoustic model's phones, and the phones the animation draws for them
    (as many; empty when the same)."""

    acoustic: Sequence[str]
    visual: Sequence[str] = ()


# words cmudict lacks -> their pronunciations (those it cannot pronounce left out)
Guesser = Callable[[Sequence[str]], Mapping[str, Any]]  # word -> Phones, or a Pronunciation


class Timed(NamedTuple):
    """A phone or word with its start and end in seconds."""

    label: str
    start: float
    end: float


def shifted(items: Iterable[tuple[str, float, float]], offset: float) -> list[Timed]:
    """``items`` moved ``offset`` seconds later (a segment's times made the clip's)."""
    return [Timed(label, s + offset, e + offset) for label, s, e in items]


@dataclass(frozen=True)
class Alignment:
    """Phones and words timed along a decoder's best word path (seconds from the start of the
    audio it was given), with the path's acoustic score per 10 ms frame."""

    phones: list[Timed]
    words: list[Timed]
    score_per_frame: float
    word_scores: tuple[float, ...] = ()  # each word's acoustic score (its phones' sum)


def model_dir() -> str:
    return native.load("pocketsphinx").get_model_path()


class SphinxPool:
    """The process's PocketSphinx decoders, built on first use, and the pronunciations given to
    the aligners so far. Hold ``lock`` while using a decoder or adding words."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._decoders: dict[str, Any] = {}  # pocketsphinx.Decoder by aligner kind
        # word -> its cmudict or spelling-based pronunciations. The aligners start with an empty
        # dictionary (parsing cmudict is most of a decoder's build time) and get only the
        # transcripts' words; aligners built later get all of them when built.
        self._known: dict[str, list[str]] = {}
        self._guessed: set[str] = set()  # those cmudict lacks (pronounced from spelling)
        # dictionary name (``word``, ``word(2)``) -> the phones the animation draws for it, where
        # they differ from the acoustic ones (other languages: ``languages``)
        self._visual: dict[str, tuple[str, ...]] = {}

    def decoder(self, kind: str):
        """'align' or 'align_wide' (forced alignment, see ALIGNERS), 'words' (large-vocabulary
        word recognition), 'phones' (free phone recognition) or 'check' (the same, scored like
        the aligners)."""
        if kind not in self._decoders:
            self._decoders[kind] = self._build(kind)
        return self._decoders[kind]

    def start_take(self) -> None:
        """Every decoder's feature extraction back to its initial state (hold ``lock``).
        PocketSphinx carries the cepstral mean and the noise estimate from one utterance into
        the next: within a take that adapts them from piece to piece (the transcript check
        relies on it), across takes it made a take depend on what the process had decoded
        before. Called at the start of each take, so the same audio gives the same take."""
        for dec in self._decoders.values():
            dec.reinit_feat()

    def _build(self, kind: str):
        Decoder = native.load("pocketsphinx").Decoder
        model = model_dir()
        en_us = os.path.join(model, "en-us")
        common = dict(hmm=os.path.join(en_us, "en-us"), dict=os.devnull, loglevel="FATAL", bestpath=False)
        try:
            if kind in ALIGNERS:
                dec = Decoder(**common, lm=None, **ALIGNERS[kind])
                for word, prons in self._known.items():
                    _add_word(dec, word, prons)
                return dec
            if kind == "words":  # its language model needs the whole dictionary
                return Decoder(**{**common, "dict": cmudict_path()}, lm=os.path.join(en_us, "en-us.lm.bin"),
                               **WORD_RECOGNITION_CONFIG)
            return Decoder(**common, allphone=os.path.join(en_us, "en-us-phone.lm.bin"),
                           **(CHECK_CONFIG if kind == "check" else PHONE_RECOGNITION_CONFIG))
        except Exception as exc:
            raise native.pocketsphinx_failure(model, exc) from None

    def add_pronunciations(self, words: Sequence[str], guess: Guesser | None = None) -> list[str]:
        """Give the aligners every pronunciation of ``words``: cmudict's, or for the words it
        lacks ``guess``'s (else a spelling-based guess); return the words cmudict lacks."""
        new = [w for w in dict.fromkeys(words) if w not in self._known]
        entries: dict[str, list[Phones]] = {}
        for w in new:
            prons = cmudict().lookup(w)
            if prons:
                entries[w] = [Phones(tuple(p.split()), ()) for p in prons]
        lacking = [w for w in new if w not in entries]
        guessed = dict(guess(lacking)) if guess is not None and lacking else {}
        for w in lacking:
            self._guessed.add(w)
            pron = guessed.get(w) or Phones(tuple(guess_pronunciation(w)), ())
            entries[w] = [Phones(tuple(pron[0]), tuple(pron[1]))] if pron[0] else []
        self.add_entries(entries)
        return [w for w in dict.fromkeys(words) if w in self._guessed]

    def add_entries(self, entries: Mapping[str, Sequence[Phones]]) -> None:
        """Give the aligners these words with their pronunciations (acoustic phones, and the
        visual phones that replace them once aligned: empty when the same); a word already
        known gets the pronunciations it lacks as further variants."""
        for word, prons in entries.items():
            known = self._known.setdefault(word, [])
            for p in prons:
                pron = " ".join(p.acoustic)
                if pron in known:
                    continue
                known.append(pron)
                name = _variant(word, len(known) - 1)
                if p.visual and tuple(p.visual) != tuple(p.acoustic):
                    self._visual[name] = tuple(p.visual)
                for kind in ALIGNERS:
                    if kind in self._decoders:
                        self._decoders[kind].add_word(name, pron, False)

    def visual(self, name: str, acoustic: Sequence[str]) -> Sequence[str]:
        """The phones the animation draws for dictionary word ``name`` aligned as ``acoustic``."""
        labels = self._visual.get(name)
        return labels if labels is not None and len(labels) == len(acoustic) else acoustic

    def can_pronounce(self, word: str) -> bool:
        """Whether the aligners were given a pronunciation of ``word``."""
        return bool(self._known.get(word))


POOL = SphinxPool()


def _variant(word: str, i: int) -> str:
    """The dictionary name of ``word``'s pronunciation ``i`` (from 0): ``word``, ``word(2)``..."""
    return word if i == 0 else f"{word}({i + 1})"


def _add_word(dec, word: str, prons: Sequence[str]) -> None:
    """Add ``word`` with its pronunciations (variants as ``word(2)``...) to a decoder's dictionary;
    searches made afterwards (each alignment makes its own) see them."""
    for i, pron in enumerate(prons):
        dec.add_word(_variant(word, i), pron, False)


def base_word(name: str) -> str:
    """Dictionary word without its pronunciation-variant mark (``the(2)`` -> ``the``)."""
    return re.sub(r"\(\d+\)$", "", name)


def is_filler(word: str) -> bool:
    """PocketSphinx's non-words: silence and sentence marks (``<sil>``, ``<s>``), noise
    (``[NOISE]``) and filler models (``+SPN+``)."""
    return word.startswith(("<", "[", "+"))


def decode(dec, raw: bytes) -> None:
    """One whole-utterance pass of ``dec`` over 16-bit PCM bytes (from the feature state the
    take's earlier pieces left: ``SphinxPool.start_take``)."""
    dec.start_utt()
    dec.process_raw(raw, full_utt=True)
    dec.end_utt()


def forced_align(pcm: np.ndarray, words: Sequence[str], kinds: Sequence[str] = tuple(ALIGNERS)) -> Alignment | None:
    """Forced alignment of 16-bit ``pcm`` to all of ``words``, on each aligner of ``kinds`` in
    turn until one succeeds; None when none does."""
    for kind in kinds:
        result = _align_with(POOL.decoder(kind), pcm, words)
        if result is not None:
            return result
    return None


def _align_with(dec, pcm: np.ndarray, words: Sequence[str]) -> Alignment | None:
    text = " ".join(w for w in words if dec.lookup_word(w) is not None)
    if not text:
        return None
    raw = pcm.tobytes()
    try:
        dec.set_align_text(text)
        decode(dec, raw)
        if dec.hyp() is None:
            return None
        return phone_alignment(dec, raw)
    except RuntimeError:
        return None


def phone_alignment(dec, raw: bytes) -> Alignment | None:
    """Second pass over the decoder's best word path, timing its phones and words; phones carry
    the labels the animation draws (``SphinxPool.visual``)."""
    dec.set_alignment()
    decode(dec, raw)
    alignment = dec.get_alignment()
    if alignment is None:
        return None
    phones, words, word_scores = [], [], []
    for word in alignment:
        entries = list(word)
        labels = POOL.visual(word.name, [p.name for p in entries])
        phones += [(label, p.start * HOP_SECONDS, (p.start + p.duration) * HOP_SECONDS, p.score)
                   for label, p in zip(labels, entries)]
        if not is_filler(word.name):
            words.append(Timed(base_word(word.name), word.start * HOP_SECONDS,
                               (word.start + word.duration) * HOP_SECONDS))
            word_scores.append(float(sum(p.score for p in entries)))
    if not phones:
        return None
    frames = sum(max(e - s, HOP_SECONDS) for _, s, e, _ in phones) / HOP_SECONDS
    score_per_frame = sum(sc for *_, sc in phones) / max(frames, 1.0)
    return Alignment([Timed(n, s, e) for n, s, e, _ in phones], words, score_per_frame, tuple(word_scores))


def recognise_phones(pcm: np.ndarray) -> list[Timed]:
    """Free phone recognition of 16-bit ``pcm``."""
    dec = POOL.decoder("phones")
    decode(dec, pcm.tobytes())
    return [Timed(s.word, s.start_frame * HOP_SECONDS, (s.end_frame + 1) * HOP_SECONDS)
            for s in dec.seg() or ()]  # None when the piece is too short to decode
