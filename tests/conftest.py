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


# --- no silent skips in CI ------------------------------------------------------------------
# Under TALKCLIP_REQUIRE_ALL=1 (scripts/test.sh --all and .ci/run set it) a skipped test is a
# failure: a missing dependency, tool or data file must break CI, not hide a test group. Only
# the reasons below may skip there, each for a reason CI cannot change.
REQUIRE_ALL = os.environ.get("TALKCLIP_REQUIRE_ALL") == "1"
ALLOWED_SKIPS = (
    "root can write anywhere",  # CI runs as root: a read-only folder cannot be made for it
)


def _refuse_skip(report) -> None:
    if not (REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail")):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if any(allowed in reason for allowed in ALLOWED_SKIPS):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped under TALKCLIP_REQUIRE_ALL=1 (a required dependency or file is missing): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _refuse_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _refuse_skip(outcome.get_result())
