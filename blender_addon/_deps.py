"""Where the add-on finds our own packages, ``talkclip_model`` and ``exporters``.

- In the built extension (``build_addon.py``) they are sub-packages of the add-on, and the build
  rewrites their absolute imports (``from talkclip_model.arkit import ...``) into relative ones,
  so the extension is self-contained: ``bl_ext.user_default.talkclip.talkclip_model``.
- In the repository (tests, ``python -m blender_addon.batch``) they are top-level packages beside
  ``blender_addon``.

``module("exporters.blender_bake")`` imports from whichever layout this copy lives in. Nothing
touches ``sys.path``. Call it inside functions: importing the pipeline pulls in onnxruntime and
PocketSphinx, which registering the add-on and drawing the panel must not pay for.
"""

from __future__ import annotations

import importlib
import importlib.util

_PACKAGED = importlib.util.find_spec(f"{__package__}.talkclip_model") is not None
PREFIX = f"{__package__}." if _PACKAGED else ""


def module(name: str):
    """Import ``talkclip_model...`` or ``exporters...`` from this add-on's layout."""
    return importlib.import_module(PREFIX + name)


def error_type() -> type:
    """TalkclipError of this layout (user-facing one-line failures)."""
    return module("talkclip_model.errors").TalkclipError
