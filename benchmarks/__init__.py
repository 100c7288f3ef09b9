"""Benchmarks and quality reports: ``python -m benchmarks [--full] [--out DIR] [--rhubarb PATH]``.

One module per area (``speed``, ``lips``, ``style``, ``bake``, ``batch``); each returns a
``Section`` (a title, a markdown table, notes, raw numbers for the JSON, plots). ``report``
writes ``report.md`` + ``report.json`` and the PNGs next to them. See docs/benchmarks.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEECH_DIR = REPO / "tests" / "data" / "speech"  # espeak-ng + mbrola lines with exact .pho timings


def shared_data() -> Path | None:
    """``../shared/data`` beside the repository (or ``$TALKCLIP_SHARED_DATA``); None when absent."""
    env = os.environ.get("TALKCLIP_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


@dataclass
class Section:
    """One area's results: a markdown table plus notes; ``data`` goes to report.json."""

    title: str
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)  # file names next to the report
    seconds: float = 0.0

    def markdown(self) -> str:
        out = [f"## {self.title}", ""]
        if self.header:
            out.append("| " + " | ".join(self.header) + " |")
            out.append("|" + "|".join("---" for _ in self.header) + "|")
            out += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
            out.append("")
        out += [f"- {n}" for n in self.notes]
        if self.plots:
            out.append("")
            out += [f"![{p}]({p})" for p in self.plots]
        out.append("")
        return "\n".join(out)


def pct(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.1f}%"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
