"""Shared test fixtures: where the external reference data lives, and skipping when it is absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# ../shared/data beside the checkout (CI clones next to it); TALKCLIP_SHARED_DATA overrides.
SHARED_DATA = Path(os.environ.get("TALKCLIP_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared(*parts: str) -> Path:
    """Path into ../shared/data; the calling test is skipped when it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"external data not present: {path}")
    return path


def need_tool(name: str) -> str:
    exe = shutil.which(name)
    if not exe:
        pytest.skip(f"{name} not installed")
    return exe


@pytest.fixture
def shared_data():
    return shared
