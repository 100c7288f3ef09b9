"""The emotion vocabulary, read from the data files in ``style/data/`` (its README says what each
holds and how to add an entry), checked, and kept once per process.

Nothing is read at import: ``vocabulary()`` loads the files on first use. ``load(folder)`` reads
and checks any folder of the same files (tests use a temporary one). A file with a duplicate
entry (within it or across files, compared as the lexicon compares them: lower case, hyphens as
spaces, pronouns alike), an unknown prototype, a grade outside 0..1, or a noun or adverb naming a
word that is not listed is refused with a one-line ``TalkclipError`` naming the file and the entry.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from talkclip_model.errors import TalkclipError
from talkclip_model.style.facs import PROTOTYPES

DATA_DIR = Path(__file__).resolve().parent / "data"
WORDS = "emotion_words.json"  # {prototype: {word: grade}}
ADVERBS = "emotion_adverbs.json"  # {adverb: word}
NOUNS = "emotion_nouns.json"  # {noun: word}
IDIOMS = "idioms.json"  # {prototype: {idiom: grade}}
SITUATIONS = "situations.json"  # {prototype: {situation: grade}}
GESTURES = "gestures.json"  # {regex: [prototype, grade]}
AMBIGUOUS = "ambiguous_words.json"  # [word or phrase, ...]
INTENSIFIERS = "intensifiers.json"  # {adverb: scale}
ACTION_ADJECTIVES = "action_adjectives.json"  # {adjective: scale}

# --- word tokens: how the lexicon and this loader compare entries ----------------------------
# Text and keys are cut into the same word tokens (hyphens split, quotes dropped), and pronouns
# are interchangeable, so "grossed-out" = "grossed out" and "crying her eyes out" = "crying his
# eyes out".
_TOKEN_RE = re.compile(r"[a-z0-9\u00e0-\u00ff]+(?:'[a-z]+)*")
_PRONOUNS = {**{w: "<pos>" for w in ("his", "her", "their", "my", "your", "its", "our", "one's", "someone's")},
             **{w: "<obj>" for w in ("him", "them", "me", "us")},
             **{w: "<self>" for w in ("himself", "herself", "themselves", "myself", "yourself", "oneself")},
             **{w: "<subj>" for w in ("he", "she", "they", "i", "we", "you")}}


def tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, token) of lower-cased text's words, pronouns folded to their kind."""
    return [(m.start(), m.end(), _PRONOUNS.get(m.group(), m.group())) for m in _TOKEN_RE.finditer(text.replace("\u2019", "'"))]


def phrase_key(text: str) -> tuple[str, ...]:
    return tuple(t for _, _, t in tokens(text.lower()))


# --- derived forms -----------------------------------------------------------------------------
_NOT_DERIVED = {"madly", "sorely", "coolly", "keenly", "sorrily"}  # "madly in love" is not angry
_DERIVABLE_ENDINGS = ("y", "ful", "ous", "ent", "ant", "ive", "ic", "al", "ish", "le", "d", "m", "t", "r")


def _adverb_of(word: str) -> str:
    if word.endswith("y") and not word.endswith("ey"):
        return word[:-1] + "ily"
    if word.endswith("le"):
        return word[:-1] + "y"
    if word.endswith("ic"):
        return word + "ally"
    return word + "ly"


def _noun_of(word: str) -> str:
    return (word[:-1] + "iness") if word.endswith("y") and not word.endswith("ey") else word + "ness"


@dataclass(frozen=True)
class Vocabulary:
    words: dict[str, tuple[str, float]]  # emotion word -> (prototype, grade)
    adverbs: dict[str, str]  # listed adverb -> the word whose prototype and grade it carries
    nouns: dict[str, str]  # noun -> the word whose prototype and grade it carries
    phrases: dict[str, tuple[str, float]]  # idioms, then situations -> (prototype, grade)
    gestures: dict[str, tuple[str, float]]  # regex of an expression word -> the emotion it adds
    ambiguous: frozenset[str]  # words and phrases that, alone, count for negation only
    intensifiers: dict[str, float]  # global intensity words -> scale
    action_adjectives: dict[str, float]  # adjectives that grade a named action -> scale

    def derived_forms(self) -> dict[str, str]:
        """-ly adverbs and -ness nouns of one-word emotion adjectives -> the adjective ("gloomily", "calmness")."""
        out: dict[str, str] = {}
        derivable = [w for w in self.words if w.isalpha() and w not in self.ambiguous and w.endswith(_DERIVABLE_ENDINGS)]
        taken = set(self.words) | set(self.nouns) | set(self.intensifiers) | _NOT_DERIVED
        for word in derivable:
            for form in (_adverb_of(word), _noun_of(word)):
                if form not in taken:
                    out.setdefault(form, word)
        return out


@functools.cache
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, read and checked on first use."""
    return load(DATA_DIR)


def load(folder: Path) -> Vocabulary:
    """Read and check the vocabulary files of ``folder``."""
    folder = Path(folder)
    words = _graded(folder / WORDS)
    idioms, situations = _graded(folder / IDIOMS), _graded(folder / SITUATIONS)
    adverbs = _references(folder / ADVERBS, words)
    nouns = _references(folder / NOUNS, words)
    intensifiers = _scales(folder / INTENSIFIERS)
    _check_unique(folder, [(WORDS, words), (ADVERBS, adverbs), (NOUNS, nouns), (IDIOMS, idioms), (SITUATIONS, situations)],
                  intensifiers)
    phrases = {**idioms, **situations}
    return Vocabulary(words=words, adverbs=adverbs, nouns=nouns, phrases=phrases, gestures=_gestures(folder / GESTURES),
                      ambiguous=_ambiguous(folder / AMBIGUOUS, words, phrases), intensifiers=intensifiers,
                      action_adjectives=_scales(folder / ACTION_ADJECTIVES))


# --- reading and checking one file ------------------------------------------------------------

def _read(path: Path):
    """The file's JSON, refusing a key written twice in one object (json would keep the last)."""
    def no_repeats(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise TalkclipError(f"{path}: duplicate entry {key!r}")
            seen.add(key)
        return dict(pairs)

    try:
        return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_repeats)
    except FileNotFoundError:
        raise TalkclipError(f"{path}: vocabulary file is missing") from None
    except (OSError, ValueError) as exc:
        raise TalkclipError(f"{path}: unreadable vocabulary file ({' '.join(str(exc).split())})") from None


def _object(path: Path) -> dict:
    data = _read(path)
    if not isinstance(data, dict):
        raise TalkclipError(f"{path}: expected a JSON object")
    return data


def _grade(path: Path, entry: str, grade) -> float:
    if isinstance(grade, bool) or not isinstance(grade, (int, float)) or not 0.0 < grade <= 1.0:
        raise TalkclipError(f"{path}: {entry!r} has grade {grade!r}; a grade is a number in (0, 1]")
    return float(grade)


def _prototype(path: Path, entry: str, prototype) -> str:
    if prototype not in PROTOTYPES:
        raise TalkclipError(f"{path}: {entry!r} names unknown prototype {prototype!r} (see facs.PROTOTYPES)")
    return prototype


def _graded(path: Path) -> dict[str, tuple[str, float]]:
    """{prototype: {entry: grade}} -> {entry: (prototype, grade)}, in file order."""
    out: dict[str, tuple[str, float]] = {}
    for prototype, entries in _object(path).items():
        if not isinstance(entries, dict):
            raise TalkclipError(f"{path}: {prototype!r} must hold an object of entry: grade")
        for entry, grade in entries.items():
            if entry in out:
                raise TalkclipError(f"{path}: {entry!r} is already listed under {out[entry][0]!r}")
            out[entry] = (_prototype(path, entry, prototype), _grade(path, entry, grade))
    return out


def _references(path: Path, words: dict) -> dict[str, str]:
    """{form: word}: every word must be a listed emotion word."""
    out = _object(path)
    for form, word in out.items():
        if word not in words:
            raise TalkclipError(f"{path}: {form!r} names {word!r}, which is not in {WORDS}")
    return out


def _scales(path: Path) -> dict[str, float]:
    out = _object(path)
    for phrase, scale in out.items():
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise TalkclipError(f"{path}: {phrase!r} has scale {scale!r}; a scale is a number above 0")
    return {phrase: float(scale) for phrase, scale in out.items()}


def _gestures(path: Path) -> dict[str, tuple[str, float]]:
    out = {}
    for rx, value in _object(path).items():
        if not (isinstance(value, list) and len(value) == 2):
            raise TalkclipError(f"{path}: {rx!r} must map to [prototype, grade]")
        try:
            re.compile(rx)
        except re.error as exc:
            raise TalkclipError(f"{path}: {rx!r} is not a valid regular expression ({exc})") from None
        out[rx] = (_prototype(path, rx, value[0]), _grade(path, rx, value[1]))
    return out


def _ambiguous(path: Path, words: dict, phrases: dict) -> frozenset[str]:
    listed = _read(path)
    if not isinstance(listed, list):
        raise TalkclipError(f"{path}: expected a JSON list")
    seen: set[str] = set()
    for entry in listed:
        if entry in seen:
            raise TalkclipError(f"{path}: duplicate entry {entry!r}")
        if entry not in words and entry not in phrases:
            raise TalkclipError(f"{path}: {entry!r} is not in {WORDS}, {IDIOMS} or {SITUATIONS}")
        seen.add(entry)
    return frozenset(listed)


def _check_unique(folder: Path, tables: list[tuple[str, dict]], intensifiers: dict[str, float]) -> None:
    """Each entry once across the lexicon's files, compared as word tokens; none an intensifier."""
    seen: dict[tuple[str, ...], tuple[str, str]] = {}
    for name, table in tables:
        for entry in table:
            key = phrase_key(entry)
            if not key:
                raise TalkclipError(f"{folder / name}: {entry!r} has no words")
            if entry in intensifiers:
                raise TalkclipError(f"{folder / name}: {entry!r} is an intensifier ({INTENSIFIERS})")
            if key in seen:
                other_file, other = seen[key]
                same = "" if other == entry else f" as {other!r}"
                raise TalkclipError(f"{folder / name}: {entry!r} is already listed{same} in {other_file}")
            seen[key] = (name, entry)
