"""The command line the ONNX exports share (``python -m talkclip_model.training.export_encoder``,
``... export_tha3``): build once into the user cache, or into ``--out``; ``--force`` rebuilds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from talkclip_model.errors import TalkclipError


def export_main(argv: list[str] | None, prog: str, description: str, default: Path, built: Callable[[Path], bool],
                build: Callable[[Path], object]) -> int:
    """Parse ``--out``/``--force``; ``build(out)`` unless ``built(out)``; exit 2 with one line on failure."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--out", type=Path, default=None, help=f"where to write it (default {default})")
    p.add_argument("--force", action="store_true", help="rebuild even if it exists")
    args = p.parse_args(argv)
    out = args.out or default
    if built(out) and not args.force:
        print(f"{out}: already built (use --force to rebuild)")
        return 0
    try:
        build(out)
    except TalkclipError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0
