"""The parts of ``build_addon.py`` (the extension build): ``manifest`` (blender_manifest.toml from
pyproject.toml), ``own_wheel`` (our packages as one wheel) and ``wheels`` (the third-party run-time
wheels for each platform and Python). build_addon.py stages, zips and validates."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def log(msg: str) -> None:
    print(f"build_addon: {msg}", flush=True)

