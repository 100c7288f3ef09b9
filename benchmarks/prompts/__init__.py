"""Style prompt sets written independently of the style model, one JSON Lines file per set.

Each set was written by a separate helper session that saw none of the project's code, corpus or
vocabulary, from general English knowledge, on 2026-11-21. One object per line, by ``kind``:

- ``{"kind": "emotion", "prompt": ..., "families": [accepted emotion families], "group": ...}``;
  families are neutral happy sad angry fear surprise disgust contempt; ``group`` is the section
  the writer put the prompt in ("idioms and figurative phrases", "negations", ...);
- ``{"kind": "action", "prompt": ..., "active": [channels], "quiet": [channels]}``: the active
  channels must show and the quiet ones stay low; "A|B" means either channel satisfies it;
- ``{"kind": "pair", "weaker": ..., "stronger": ...}``: the same emotion, the second clearly
  more intense.

How each was used (so the scores can be read for what they are):
- set_1: its first half was looked at while tuning the lexicon; its second half's emotion
  prompts only once, for the score.
- set_2: looked at (failures) while tuning; a development set since.
- set_3: its emotion prompts and pairs were scored but never looked at; its action failures
  were looked at once and fixed.
"""

from __future__ import annotations

import json
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
SETS = {
    "set_1": "half looked at while tuning",
    "set_2": "looked at while tuning",
    "set_3": "emotion prompts and pairs never looked at; action failures looked at once",
}


def read_set(name: str) -> tuple[list[tuple[str, str]], list[tuple[str, list[str], list[str]]], list[tuple[str, str]]]:
    """(emotion, actions, pairs) of a set: [(prompt, "space-separated families")],
    [(prompt, active channels, quiet channels)], [(weaker, stronger)]."""
    path = FOLDER / f"{name}.jsonl"
    emotion, actions, pairs = [], [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["kind"] == "emotion":
            emotion.append((row["prompt"], " ".join(row["families"])))
        elif row["kind"] == "action":
            actions.append((row["prompt"], row["active"], row["quiet"]))
        elif row["kind"] == "pair":
            pairs.append((row["weaker"], row["stronger"]))
        else:
            raise ValueError(f"{path}:{n}: unknown kind {row['kind']!r}")
    return emotion, actions, pairs
