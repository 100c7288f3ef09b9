"""Fixtures for the real-Blender groups (markers ``real_blender`` and ``bpy_matrix``).

These tests use what a user gets: the extension zip ``build_addon.py`` really makes, with its
real wheels, installed into Debian's Blender (a debootstrap root, ``scripts/blender_root.sh``)
and into clean venvs that hold only ``bpy``. They are slow (minutes) and run from ``.ci/run``
(``scripts/test.sh --all``), not in the default developer run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Downloaded wheels are kept outside the repository so reruns do not fetch them again.
WHEEL_CACHE = Path(os.environ.get("TALKCLIP_WHEEL_CACHE", Path.home() / ".cache" / "talkclip" / "wheels"))
PLATFORM = "linux-x64"


@pytest.fixture(scope="session")
def addon_zip(tmp_path_factory) -> Path:
    """The linux-x64 extension zip, built once per session exactly as a user builds it."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(ROOT / "build_addon.py"), "--platforms", PLATFORM,
                           "--output-dir", str(out), "--wheel-cache", str(WHEEL_CACHE),
                           "--stage-dir", str(out / "stage")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"build_addon.py failed:\n{proc.stdout}\n{proc.stderr}"
    zips = sorted(out.glob("*.zip"))
    assert len(zips) == 1, f"expected one zip in {out}, got {zips}\n{proc.stdout}"
    return zips[0]
