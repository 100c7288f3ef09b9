"""Rewrite the golden files from the current code: ``.venv/bin/python tests/golden/update.py``.

Run it only when an output is meant to change, read ``git diff --stat tests/golden`` and commit
the new files with a message that says why they changed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, as pytest sees it

from golden.cases import DATA, compute  # noqa: E402

_NUMBERS = re.compile(r"\[\s*(-?[0-9][-0-9.e+]*(?:,\s*-?[0-9][-0-9.e+]*)*)\s*\]")


def dumps(content) -> str:
    """Indented JSON with each innermost list of numbers (one frame) on one line, for readable diffs."""
    text = json.dumps(content, indent=1, sort_keys=True)
    return _NUMBERS.sub(lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]", text) + "\n"


def main() -> int:
    DATA.mkdir(exist_ok=True)
    for name, content in compute().items():
        path = DATA / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(dumps(content))
        tmp.replace(path)
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
