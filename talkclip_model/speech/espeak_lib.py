"""espeak-ng as a library, for machines without the ``espeak-ng`` command (Blender on Windows and
macOS): libespeak-ng and its data from the ``espeakng-loader`` wheel, called through ctypes.

Same text in, same IPA out as ``espeak-ng -v VOICE -q --ipa --sep=.``: one string a clause, phones
joined by ``.``, words by spaces (tests/test_languages.py compares the two on every test line).
libespeak-ng keeps one voice per process and is not thread-safe, so calls hold a lock.
"""

from __future__ import annotations

import ctypes
import importlib.util
import threading

from talkclip_model.errors import TalkclipError

AUDIO_OUTPUT_SYNCHRONOUS = 2  # no sound device is opened
INITIALIZE_DONT_EXIT = 0x8000  # report a missing data folder instead of ending the process
CHARS_UTF8 = 1
PHONEMES_IPA = 0x02
SEPARATOR = ord(".") << 8  # bits 8-23: the character between phones

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


def available() -> bool:
    """Whether the espeakng-loader wheel is installed (its library is loaded on first use)."""
    return importlib.util.find_spec("espeakng_loader") is not None


def _load() -> ctypes.CDLL:
    """libespeak-ng, initialised once with the wheel's data folder (hold ``_lock``)."""
    global _lib
    if _lib is not None:
        return _lib
    import espeakng_loader

    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path()
    except (OSError, RuntimeError) as exc:
        raise TalkclipError(f"espeak-ng library from espeakng-loader could not be loaded: {exc}") from None
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    if lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode("utf-8"), INITIALIZE_DONT_EXIT) <= 0:
        raise TalkclipError(f"espeak-ng library could not read its data folder {data}")
    _lib = lib
    return lib


def ipa_clauses(voice: str, text: str) -> list[str]:
    """IPA of ``text`` read with ``voice``: one string a clause, each input line read on its own
    (as the command reads one line a clause)."""
    out: list[str] = []
    with _lock:
        lib = _load()
        if lib.espeak_SetVoiceByName(voice.encode("utf-8")) != 0:
            raise TalkclipError(f"espeak-ng library has no voice {voice!r}")
        for line in text.splitlines():
            buf = ctypes.create_string_buffer(line.encode("utf-8"))
            ptr = ctypes.c_char_p(ctypes.addressof(buf))
            while ptr.value:
                clause = lib.espeak_TextToPhonemes(ctypes.byref(ptr), CHARS_UTF8, PHONEMES_IPA | SEPARATOR)
                if clause and clause.strip():
                    out.append(clause.decode("utf-8", "replace").strip())
    return out
