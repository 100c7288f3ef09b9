"""The compiled libraries the run time loads, imported so that the host process cannot break
them, and named when they are missing.

A Blender linked to a distribution's FFmpeg (Debian's, Ubuntu-style builds) has the system's old
libpocketsphinx and libsphinxbase loaded through libavfilter; their global ``cmd_ln_*``/``fe_*``
symbols interpose on the copies inside the pocketsphinx wheel, and the decoder then rejects its
own arguments (``Unknown argument: -samprate``). On Linux the wheel is therefore loaded with
``RTLD_DEEPBIND``, so it binds to its own symbols first.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading

from talkclip_model.errors import TalkclipError

# import name -> what to install (the pip package, and the native library it carries)
PACKAGES = {
    "pocketsphinx": "pocketsphinx",
    "soundfile": "soundfile (with its libsndfile, cffi and typing_extensions)",
    "soxr": "soxr",
    "onnxruntime": "onnxruntime",
    "tokenizers": "tokenizers",
}
_lock = threading.Lock()


def load(name: str):
    """Import a native dependency; a missing or broken one is a one-line TalkclipError naming it."""
    if name in sys.modules:
        return sys.modules[name]
    with _lock:
        flags = None
        if name == "pocketsphinx" and hasattr(os, "RTLD_DEEPBIND"):
            flags = sys.getdlopenflags()
            sys.setdlopenflags(os.RTLD_NOW | os.RTLD_DEEPBIND)
        try:
            return importlib.import_module(name)
        except (ImportError, OSError) as exc:
            raise TalkclipError(f"missing dependency {PACKAGES.get(name, name)}: cannot import {name} "
                                f"({type(exc).__name__}: {exc}); reinstall the add-on, or "
                                f"`pip install {name}` outside Blender") from None
        finally:
            if flags is not None:
                sys.setdlopenflags(flags)


def foreign_sphinx_libraries() -> list[str]:
    """System copies of libpocketsphinx/libsphinxbase mapped into this process (Linux), which
    can interpose on the wheel's own; empty elsewhere or when none are loaded."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if "sphinx" in line and "/" in line}
    except OSError:
        return []
    return sorted(p for p in paths if os.path.basename(p).startswith(("libpocketsphinx", "libsphinxbase")))


def pocketsphinx_failure(model_dir: str, exc: BaseException) -> TalkclipError:
    """The one-line reason PocketSphinx failed to start, naming the real cause when it can."""
    foreign = foreign_sphinx_libraries()
    if foreign:
        return TalkclipError(f"PocketSphinx could not start: this program has its own {', '.join(foreign)} "
                             "loaded (usually through the system FFmpeg), which clashes with the "
                             f"pocketsphinx package ({exc})")
    return TalkclipError(f"PocketSphinx model in {model_dir} could not be loaded ({exc})")
