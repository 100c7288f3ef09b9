"""The languages transcripts may be in, their words, and the IPA table that maps espeak-ng's
phones to the aligner's.

English keeps cmudict (``sphinx.POOL``). Every other language is read by espeak-ng (``espeak``),
and each IPA token maps through ``data/ipa.json`` to two phone lists of equal length: the nearest
phones of PocketSphinx's en-us acoustic model, which the aligner is given, and the ARPAbet phones
the animation draws (foreign r and uvular r are not lip-rounded like English R, front rounded
vowels are rounded), which the aligned phones are relabelled with. The table's sources and
choices: ``data/README.md``; the measurements: docs/languages.md.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from talkclip_model.errors import TalkclipError
from talkclip_model.phones import PHONE_SET

TABLE_PATH = Path(__file__).resolve().parent / "data" / "ipa.json"
ENGLISH = "en"
WORD_MARK = "@"  # dictionary words of other languages are "word@code", apart from English ones


@dataclass(frozen=True)
class Language:
    """A language transcripts may be in: its BCP-47 code, espeak-ng voice, and the Unicode
    scripts its words are written in (Latin letters are read in every language)."""

    code: str
    name: str
    espeak: str
    scripts: tuple[str, ...] = ("LATIN",)


LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (
    Language("en", "English", "en-us"),
    Language("de", "German", "de"),
    Language("fr", "French", "fr"),
    Language("es", "Spanish", "es"),
    Language("it", "Italian", "it"),
    Language("pt-BR", "Brazilian Portuguese", "pt-br"),
    Language("pt-PT", "European Portuguese", "pt"),
    Language("pl", "Polish", "pl"),
    Language("nl", "Dutch", "nl"),
    Language("sv", "Swedish", "sv"),
    Language("ru", "Russian", "ru", ("LATIN", "CYRILLIC")),
    Language("ja", "Japanese", "ja", ("LATIN", "HIRAGANA", "KATAKANA")),
)}
# primary subtags that name one of the above (region subtags pick nothing else: en-GB is en)
_PRIMARY = {"pt": "pt-PT"}
_NOT_YET = {"zh": "Chinese", "ko": "Korean", "yue": "Cantonese"}


def supported_codes() -> str:
    return ", ".join(LANGUAGES)


@lru_cache(maxsize=64)
def resolve(code: str | None) -> Language:
    """The language a BCP-47 tag names (case and ``_`` or ``-`` as the user likes; a region
    this project does not distinguish falls back to the language: en-GB is en, es-MX is es).
    Raises TalkclipError for a language that is not supported."""
    tag = (code or ENGLISH).strip().replace("_", "-")
    by_lower = {c.lower(): c for c in LANGUAGES}
    if tag.lower() in by_lower:
        return LANGUAGES[by_lower[tag.lower()]]
    primary = tag.split("-")[0].lower()
    if primary == "pt" and tag.lower().endswith("-br"):
        return LANGUAGES["pt-BR"]
    found = by_lower.get(primary) or _PRIMARY.get(primary)
    if found:
        return LANGUAGES[found]
    if primary in _NOT_YET:
        raise TalkclipError(f"language {code!r}: {_NOT_YET[primary]} is not supported yet "
                            f"(supported: {supported_codes()})")
    raise TalkclipError(f"unknown language {code!r}; use a BCP-47 code: {supported_codes()}")


# --- transcripts ------------------------------------------------------------------------------

_ANNOTATION = re.compile(r"\[[^\]]*\]|<[^>]*>|\{[^}]*\}")  # [laughter], <unk>, {noise}: not words
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_CLAUSE_END = re.compile(r"[.,;:!?…。、！？]")


def _is_kanji(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH",
                                                "IDEOGRAPHIC ITERATION MARK"))


@lru_cache(maxsize=1)
def _kakasi():
    try:
        import pykakasi
    except ImportError:
        raise TalkclipError("Japanese kanji need pykakasi to be read (pip install pykakasi); or give "
                            "the line in hiragana or katakana") from None
    return pykakasi.kakasi()


def kana_reading(text: str) -> str:
    """``text`` with its kanji replaced by their hiragana readings from pykakasi's dictionary
    (``東京駅で`` -> ``とうきょうえきで``); kana, Latin letters and punctuation stay. A dictionary
    reading ignores context (``今日は`` reads as the greeting ``こんにちは``, not ``きょうは``):
    the take's word timings show the kana used, and a transcript in kana is read as written."""
    return "".join(item["hira"] if any(_is_kanji(ch) for ch in item["orig"]) else item["orig"]
                   for item in _kakasi().convert(text))


def transcript_clauses(text: str, lang: Language) -> list[list[str]]:
    """The words of a transcript in ``lang`` (not English: ``g2p.normalise_transcript`` reads
    those), lower case, in clauses (split at . , ; : ! ? and their CJK forms); apostrophes and
    hyphens inside a word stay, and digits, for espeak-ng to read in the language. Japanese
    words are the runs of kana between punctuation and spaces; kanji are read as kana first
    (``kana_reading``)."""
    text = _ANNOTATION.sub(" ", unicodedata.normalize("NFKC", str(text))).lower()
    if lang.code == "ja" and any(_is_kanji(ch) for ch in text):
        text = kana_reading(text)
    clauses: list[list[str]] = [[]]
    last = 0
    for match in _WORD.finditer(text):
        if clauses[-1] and _CLAUSE_END.search(text, last, match.start()):
            clauses.append([])
        clauses[-1].append(match.group().replace("’", "'"))
        last = match.end()
    return [c for c in clauses if c]


def transcript_words(text: str, lang: Language) -> list[str]:
    """``transcript_clauses``'s words in one list."""
    return [w for clause in transcript_clauses(text, lang) for w in clause]


def readable(word: str, lang: Language) -> bool:
    """Whether ``word`` is written in the language's scripts (or digits), so espeak-ng reads it
    rather than naming its characters."""
    return all(ch.isdigit() or ch in "'-" or unicodedata.name(ch, "").startswith(lang.scripts) for ch in word)


def dictionary_word(word: str, lang: Language) -> str:
    """The aligner's name for ``word`` in ``lang``: English words as they are, others marked
    with their language, so "die" in German and English are two entries."""
    return word if lang.code == ENGLISH else f"{word}{WORD_MARK}{lang.code}"


def spoken_word(name: str) -> str:
    """The transcript's word for an aligner's dictionary name (``dictionary_word`` undone)."""
    return name.rsplit(WORD_MARK, 1)[0] if WORD_MARK in name else name


# --- the IPA table ----------------------------------------------------------------------------

class Pronunciation(NamedTuple):
    """One word's phones: ``acoustic`` for the aligner, ``visual`` (as many) for the animation."""

    acoustic: tuple[str, ...]
    visual: tuple[str, ...]


def _entries(data: dict, where: str) -> dict[str, Pronunciation]:
    table = {}
    for token, pair in data.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise TalkclipError(f"{TABLE_PATH}: {where} entry {token!r} is not [acoustic, visual]")
        pron = Pronunciation(tuple(pair[0].split()), tuple(pair[1].split()))
        if len(pron.acoustic) != len(pron.visual) or not set(pron.acoustic + pron.visual) <= PHONE_SET:
            raise TalkclipError(f"{TABLE_PATH}: {where} entry {token!r} is not two equally long lists of "
                                "ARPAbet phones")
        table[token] = pron
    return table


@lru_cache(maxsize=None)
def ipa_table(code: str | None = None) -> dict[str, Pronunciation]:
    """``data/ipa.json``: IPA token -> Pronunciation, with the entries of language ``code`` that
    differ (espeak-ng writes Russian ы and a reduced Brazilian i as "y"); checked on load."""
    try:
        data = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
        table = _entries(data["phones"], "phones")
        table.update(_entries(data.get("languages", {}).get(code, {}), code or ""))
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise TalkclipError(f"{TABLE_PATH}: cannot read the IPA table ({exc})") from None
    return table


_STRESS = re.compile(r"[ˈˌ\-‿|']")
_MODIFIERS = "ʲʷʰᵝˠˤːˑ\"^"  # (" and ^ mark fronted and reduced vowels in Russian)
_TILDE = "\u0303"
_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)?\)")  # espeak-ng's "(en)" language switches


def _plain(token: str, keep_tilde: bool) -> str:
    """``token`` without length, secondary articulations and diacritics (the nasal tilde kept
    when asked)."""
    return "".join(ch for ch in token if ch not in _MODIFIERS and not (
        unicodedata.category(ch) == "Mn" and not (keep_tilde and ch == _TILDE)))


@lru_cache(maxsize=1)
def _longest_key() -> int:
    return max(len(k) for k in ipa_table())


def _token_phones(token: str, table: dict[str, Pronunciation], unknown: set[str]) -> list[tuple[str, str]]:
    """(acoustic, visual) pairs of one IPA token: the token itself, without its modifiers, or
    split into the longest entries of the table; symbols with no entry go to ``unknown``."""
    for key in (token, _plain(token, True), _plain(token, False)):
        if key in table:
            return list(zip(*table[key]))
    text, i = _plain(token, True), 0
    out: list[tuple] = []
    while i < len(text):
        for size in range(min(_longest_key(), len(text) - i), 0, -1):
            piece = text[i:i + size]
            pron = table.get(piece) or table.get(_plain(piece, False))
            if pron is not None:
                out += zip(*pron)
                i += size
                break
        else:
            unknown.add(text[i])
            i += 1
    return out


def ipa_pronunciation(ipa: str, code: str | None = None, unknown: set[str] | None = None) -> Pronunciation:
    """The phones of one word's espeak-ng IPA (tokens separated by ``.`` or spaces) in language
    ``code``; a phone repeated within the word (a geminate, a long vowel written twice) is one."""
    table = ipa_table(code)
    unknown = set() if unknown is None else unknown
    pairs: list[tuple[str, str]] = []
    for token in re.split(r"[.\s]+", _SWITCH.sub(".", ipa)):
        token = _STRESS.sub("", token)
        if token:
            pairs += [p for p in _token_phones(token, table, unknown) if not pairs or p != pairs[-1]]
    return Pronunciation(tuple(a for a, _ in pairs), tuple(v for _, v in pairs))
