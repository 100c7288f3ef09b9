"""Pronunciations from espeak-ng: the ``espeak-ng`` command on PATH (``-v VOICE -q --ipa --sep=.``)
or, where there is none (Blender on Windows and macOS), libespeak-ng from the espeakng-loader
wheel (``espeak_lib``), which reads the same text to the same IPA. ``TALKCLIP_ESPEAK=command`` or
``library`` picks one.

A transcript is read twice, in two calls per take: word by word (one word a line, which
espeak-ng reads as a clause each; cached per process), and as running text, clause by clause,
which gives the pronunciations words take in context: French liaison ("mon ami" is m.ɔ̃.n a.m.i),
voicing across word boundaries. espeak-ng keeps words as groups of phones; a greedy walk pairs its
groups with the transcript's words by their phones (``_pair_groups``), and each word gets both
readings as pronunciation variants, so the aligner picks the one that was said.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from typing import NamedTuple, Sequence

from talkclip_model.errors import TalkclipError
from talkclip_model.speech import espeak_lib
from talkclip_model.speech.languages import (
    ENGLISH,
    LANGUAGES,
    Language,
    Pronunciation,
    ipa_pronunciation,
    readable,
)

ESPEAK = "espeak-ng"
BACKEND_ENV = "TALKCLIP_ESPEAK"  # "command" or "library"; default: the command when on PATH
ESPEAK_TIMEOUT_S = 120.0
# A run of words and a run of espeak-ng's groups pair up when their acoustic phones differ by at
# most this share of edits; past it the walk stops and the rest keep their word-by-word reading.
MAX_PAIR_DISTANCE = 0.5
# the runs tried at each step: (words, groups); espeak-ng joins short words ("ze mną") and
# reads a number as several words
PAIR_STEPS = ((1, 1), (2, 1), (3, 1), (1, 2), (1, 3), (1, 4))


def espeak_path() -> str | None:
    return shutil.which(ESPEAK)


def backend() -> str | None:
    """Which espeak-ng reads transcripts: "command", "library" or None (neither is installed)."""
    choice = os.environ.get(BACKEND_ENV, "").strip().lower()
    if choice not in ("", "command", "library"):
        raise TalkclipError(f"{BACKEND_ENV}={choice!r}: use 'command' or 'library'")
    if choice != "library" and espeak_path() is not None:
        return "command"
    if choice != "command" and espeak_lib.available():
        return "library"
    return None


def _missing_espeak(lang: Language) -> TalkclipError:
    return TalkclipError(f"{lang.name} transcripts need espeak-ng for pronunciations and it is not installed "
                         "(pip install espeakng-loader; or Debian/Ubuntu: apt install espeak-ng; macOS: "
                         "brew install espeak-ng)")


def _run(lang: Language, text: str) -> list[str]:
    """espeak-ng's IPA lines of ``text`` in ``lang`` (one a clause)."""
    which = backend()
    if which is None:
        raise _missing_espeak(lang)
    if which == "library":
        return espeak_lib.ipa_clauses(lang.espeak, text)
    exe = espeak_path() or ESPEAK
    try:
        done = subprocess.run([exe, "-v", lang.espeak, "-q", "--ipa", "--sep=.", "-b", "1"],
                              input=text.encode("utf-8"), capture_output=True, timeout=ESPEAK_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        raise TalkclipError(f"espeak-ng failed: {' '.join(str(exc).split())}") from None
    if done.returncode != 0:
        reason = " ".join(done.stderr.decode("utf-8", "replace").split())[:200]
        raise TalkclipError(f"espeak-ng -v {lang.espeak} failed (exit {done.returncode}): {reason}")
    return [line.strip() for line in done.stdout.decode("utf-8", "replace").splitlines() if line.strip()]


_cache: dict[tuple[str, str], str] = {}
_cache_lock = threading.Lock()


def isolated_ipa(words: Sequence[str], lang: Language) -> dict[str, str]:
    """espeak-ng's IPA of each word on its own (one call for the words not read before; word by
    word when the lines do not come back one a word)."""
    with _cache_lock:
        todo = [w for w in dict.fromkeys(words) if (lang.espeak, w) not in _cache]
    if todo:
        lines = _run(lang, "\n".join(todo))
        if len(lines) != len(todo):
            lines = [" ".join(_run(lang, w)) for w in todo]
        with _cache_lock:
            _cache.update({(lang.espeak, w): ipa for w, ipa in zip(todo, lines)})
    with _cache_lock:
        return {w: _cache[(lang.espeak, w)] for w in words}


def _distance(a: Sequence[str], b: Sequence[str]) -> float:
    """Edit distance between two phone sequences, as a share of the longer."""
    if not a or not b:
        return 1.0
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1] / max(len(a), len(b))


def _pair_groups(words: Sequence[Pronunciation], groups: Sequence[Pronunciation]) -> list[slice | None]:
    """For each word, the run of espeak-ng's groups that is its reading in context (None when
    it shares a group with other words, or after the walk lost track)."""
    paired: list[slice | None] = [None] * len(words)
    i = j = 0

    def cost(step: tuple[int, int]) -> float:
        a, b = step
        if i + a > len(words) or j + b > len(groups):
            return 2.0
        return _distance([p for w in words[i:i + a] for p in w.acoustic],
                         [p for g in groups[j:j + b] for p in g.acoustic])

    while i < len(words) and j < len(groups):
        a, b = min(PAIR_STEPS, key=cost)  # the first step wins ties: one word, one group
        if cost((a, b)) > MAX_PAIR_DISTANCE:
            break
        if a == 1:
            paired[i] = slice(j, j + b)
        i, j = i + a, j + b
    return paired


def context_readings(clauses: Sequence[Sequence[str]], isolated: dict[str, Pronunciation],
                     lang: Language, unknown: set[str]) -> list[tuple[str, Pronunciation]]:
    """(word, its reading in context) for the words of ``clauses`` that espeak-ng's reading of
    them as running text pairs with (words not in ``isolated`` are left out of the text)."""
    kept = [[w for w in clause if w in isolated] for clause in clauses]
    words = [w for clause in kept for w in clause]
    if not words:
        return []
    text = ",\n".join(" ".join(clause) for clause in kept if clause)
    groups = [ipa_pronunciation(g, lang.code, unknown) for line in _run(lang, text) for g in line.split()]
    groups = [g for g in groups if g.acoustic]
    paired = _pair_groups([isolated[w] for w in words], groups)
    return [(w, Pronunciation(tuple(p for g in groups[run] for p in g.acoustic),
                              tuple(p for g in groups[run] for p in g.visual)))
            for w, run in zip(words, paired) if run is not None]


class Reading(NamedTuple):
    """What espeak-ng made of a transcript's words: each word's pronunciations (word by word,
    then in context where that differs), the words it could not read, and IPA symbols the table
    lacks (their phones were left out)."""

    pronunciations: dict[str, list[Pronunciation]]
    unreadable: list[str]
    unknown_symbols: list[str]


def read_words(clauses: Sequence[Sequence[str]], lang: Language, context: bool = True) -> Reading:
    """Pronunciations of the words of ``clauses`` in ``lang`` (raises when espeak-ng is
    missing); ``context`` also reads them as running text."""
    words = list(dict.fromkeys(w for clause in clauses for w in clause))
    script_ok = [w for w in words if readable(w, lang)]
    unknown: set[str] = set()
    isolated = {w: ipa_pronunciation(ipa, lang.code, unknown) for w, ipa in isolated_ipa(script_ok, lang).items()}
    isolated = {w: p for w, p in isolated.items() if p.acoustic}
    prons = {w: [p] for w, p in isolated.items()}
    if context:
        for w, p in context_readings(clauses, isolated, lang, unknown):
            if p.acoustic not in [q.acoustic for q in prons[w]]:
                prons[w].append(p)
    return Reading(prons, [w for w in words if w not in prons], sorted(unknown))


def english_guess(words: Sequence[str]) -> dict[str, Pronunciation]:
    """espeak-ng's pronunciations of English words cmudict lacks, each on its own; empty when
    espeak-ng is missing or fails (the caller then guesses from the spelling)."""
    if not words or backend() is None:
        return {}
    try:
        reading = read_words([list(words)], LANGUAGES[ENGLISH], context=False)
    except TalkclipError:
        return {}
    return {w: prons[0] for w, prons in reading.pronunciations.items()}
