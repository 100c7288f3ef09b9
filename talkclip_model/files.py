"""Safe file output: write to a temporary file beside the target, then rename into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from talkclip_model.errors import TalkclipError


def check_output_path(path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Fail early, naming the path, if an output cannot be written there."""
    out = Path(path)
    if out.exists() and out.is_dir():
        raise TalkclipError(f"{out}: is a folder, expected a file path")
    if out.exists() and not overwrite:
        raise TalkclipError(f"{out}: already exists (use --force to replace it)")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise TalkclipError(f"{out}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise TalkclipError(f"{out}: folder {parent} is not writable")
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _settle(tmp: str, out: Path, overwrite: bool = True) -> None:
    """Give the new file the mode a plain open() would have (mkstemp makes it 0600), then move it
    into place. Without ``overwrite`` the move itself refuses a file that appeared while we worked
    (a hard link fails on an existing name), not only the check made before the work."""
    mode = (out.stat().st_mode & 0o777) if out.exists() else (0o666 & ~_umask())
    os.chmod(tmp, mode)
    if overwrite:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise TalkclipError(f"{out}: already exists (use --force to replace it)") from None
    except OSError:  # a file system without hard links: check, then rename
        if out.exists():
            raise TalkclipError(f"{out}: already exists (use --force to replace it)") from None
        os.replace(tmp, out)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "wb", overwrite: bool = True) -> Iterator:
    """Open a temporary file next to ``path``; on success rename it over ``path``.

    On any failure the temporary file is removed and ``path`` is left as it was.
    """
    out = check_output_path(path, overwrite=overwrite)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise TalkclipError(f"{out}: cannot write ({exc.strerror})") from None
    try:
        fh = os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8", newline="")
        with fh:
            yield fh
        _settle(tmp, out, overwrite)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Like atomic_output, for writers that take a file name (numpy, pygltflib)."""
    out = check_output_path(path, overwrite=overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix or ".tmp", dir=out.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _settle(tmp, out, overwrite)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
