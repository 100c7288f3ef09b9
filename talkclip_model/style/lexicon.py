"""The phrase parser's lexicon: every emotion word, adverb, noun, derived -ly/-ness form, idiom and
situation of the vocabulary as a word n-gram -> (prototype, grade), matched longest first.

Keys are ``vocabulary.phrase_key`` tokens, so hyphens and pronouns do not matter.
``default_lexicon()`` builds the table once, on first use; evaluation scores the learned part
with ``default_lexicon().without(the held-out words and idioms)``.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass

from talkclip_model.style.vocabulary import Vocabulary, phrase_key, tokens, vocabulary


@dataclass(frozen=True)
class LexiconEntry:
    prototype: str
    grade: float
    source: str  # the listed word, idiom or situation it comes from
    ambiguous: bool = False  # counts for negation only ("not down"), never as an emotion alone


class Lexicon:
    def __init__(self, entries: dict[tuple[str, ...], LexiconEntry]):
        self.entries = entries
        self.longest = max((len(k) for k in entries), default=0)

    @classmethod
    def from_vocabulary(cls, vocab: Vocabulary) -> Lexicon:
        """Words, then adverbs, nouns, derived forms, idioms and situations; the first of a key stays."""
        table: dict[tuple[str, ...], LexiconEntry] = {}

        def add(phrase: str, source: str, proto_grade: tuple[str, float]) -> None:
            key = phrase_key(phrase)
            if key and key not in table:
                table[key] = LexiconEntry(proto_grade[0], proto_grade[1], source, source in vocab.ambiguous)

        for word, pg in vocab.words.items():
            add(word, word, pg)
        for form, word in [*vocab.adverbs.items(), *vocab.nouns.items(), *vocab.derived_forms().items()]:
            add(form, word, vocab.words[word])
        for phrase, pg in vocab.phrases.items():
            add(phrase, phrase, pg)
        return cls(table)

    def without(self, sources: Collection[str]) -> Lexicon:
        """This lexicon less the entries that come from ``sources`` (and their nouns and adverbs)."""
        return Lexicon({k: e for k, e in self.entries.items() if e.source not in sources})

    def __contains__(self, key: tuple[str, ...]) -> bool:
        return key in self.entries

    def matches(self, low: str) -> list[tuple[int, int, LexiconEntry]]:
        """(start, end, entry) of entries in lower-cased text, longest first, left to right."""
        toks = tokens(low)
        out, i = [], 0
        while i < len(toks):
            for n in range(min(self.longest, len(toks) - i), 0, -1):
                entry = self.entries.get(tuple(t for _, _, t in toks[i:i + n]))
                if entry is not None:
                    out.append((toks[i][0], toks[i + n - 1][1], entry))
                    i += n
                    break
            else:
                i += 1
        return out


@functools.cache
def default_lexicon() -> Lexicon:
    """The run-time lexicon of the shipped vocabulary, built on first use."""
    return Lexicon.from_vocabulary(vocabulary())
