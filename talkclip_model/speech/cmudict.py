"""Pronunciations from PocketSphinx's cmudict without loading it.

Parsing the 135,000-line dictionary is most of the cost of building a decoder
(docs/decisions/speech.md), and an aligner only needs the words of its transcript. The file is
sorted by word (byte order, pronunciation variants ``word(2)`` right after ``word``), so a word
is found by binary search over the memory-mapped file; ``tests/test_phonemes.py`` checks that
order so a model update that breaks it is caught.
"""

from __future__ import annotations

import mmap
import os
import re
import threading

from talkclip_model import native

_ALT = re.compile(rb"\(\d+\)$")


def dictionary_path() -> str:
    return os.path.join(native.load("pocketsphinx").get_model_path(), "en-us", "cmudict-en-us.dict")


class Cmudict:
    """Read-only word -> pronunciations lookup over a sorted PocketSphinx dictionary file."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or dictionary_path()
        with open(self.path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            self._data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._size = size

    def _line_at(self, pos: int) -> tuple[int, int]:
        """(start, end) of the first whole line starting at or after ``pos`` (end excludes the newline)."""
        if pos > 0:
            nl = self._data.find(b"\n", pos - 1)
            pos = self._size if nl < 0 else nl + 1
        end = self._data.find(b"\n", pos)
        return pos, (self._size if end < 0 else end)

    def _key(self, start: int, end: int) -> bytes:
        line = self._data[start:end]
        word = line.split(None, 1)[0] if line.strip() else b""
        return _ALT.sub(b"", word)

    def lookup(self, word: str) -> list[str]:
        """Every pronunciation of ``word`` (ARPAbet, space-separated), in the file's order."""
        key = word.encode("utf-8", "replace")
        if not key or self._size == 0:
            return []
        lo, hi = 0, self._size  # invariant: the first line with key >= ``key`` is _line_at(p), lo <= p <= hi
        while lo < hi:
            mid = (lo + hi) // 2
            start, end = self._line_at(mid)
            if start >= self._size:
                hi = mid
                continue
            if self._key(start, end) < key:
                lo = end + 1
            else:
                hi = mid
        prons: list[str] = []
        start, end = self._line_at(lo)
        while start < self._size and self._key(start, end) == key:
            prons.append(b" ".join(self._data[start:end].split()[1:]).decode("ascii", "replace"))
            start, end = self._line_at(end + 1)
        return prons


_shared: Cmudict | None = None
_lock = threading.Lock()


def cmudict() -> Cmudict:
    """The process-wide lookup over the PocketSphinx wheel's dictionary."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Cmudict()
        return _shared
