"""Safe file output: write to a temporary file beside the target, then rename into place."""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterator

from talkclip_model.errors import TalkclipError

MiB = 1 << 20
TEXT_LIMIT = 64 * MiB  # transcripts, styles, schedules, profiles: far below this


def _size_text(n: int) -> str:
    return f"{n / MiB:.0f} MB" if n >= MiB else f"{n} bytes"


def _reason(exc: OSError) -> str:
    return exc.strerror or " ".join(str(exc).split()) or type(exc).__name__


def read_bytes_bounded(path: str | os.PathLike, limit: int, what: str, streams: bool = False) -> bytes:
    """The bytes of ``path``, refused with one line naming it when there are more than ``limit``.

    A regular file is checked by its size before reading. Anything else (``/dev/zero``, a pipe
    that may never end or never open) is refused, unless ``streams``: then it is read only up
    to the limit, so an endless input cannot exhaust memory."""
    path = Path(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise TalkclipError(f"{path}: is a folder; expected a {what}")
        regular = stat.S_ISREG(info.st_mode)
        if not regular and not streams:
            raise TalkclipError(f"{path}: not a regular file; expected a {what}")
        if regular and info.st_size > limit:
            raise TalkclipError(f"{path}: {what} is too large ({_size_text(info.st_size)}; "
                                f"at most {_size_text(limit)} is read)")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise TalkclipError(f"{path}: cannot read {what} ({_reason(exc)})") from None
    if len(data) > limit:
        raise TalkclipError(f"{path}: {what} is too large (more than {_size_text(limit)})")
    return data


def read_text_bounded(path: str | os.PathLike, limit: int = TEXT_LIMIT, what: str = "text file",
                      streams: bool = False) -> str:
    """UTF-8 text of ``path`` (a BOM dropped), at most ``limit`` bytes; every failure is one
    TalkclipError line naming the file (see read_bytes_bounded for ``streams``)."""
    data = read_bytes_bounded(path, limit, what, streams)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TalkclipError(f"{path}: {what} is not UTF-8 text (byte {exc.start})") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def parse_json_text(text: str, strict_numbers: bool = False) -> Any:
    """``json.loads`` that also turns deep nesting into a ValueError; with ``strict_numbers``,
    NaN, Infinity and numbers beyond float range (``1e400``) are refused too."""
    kwargs: dict[str, Any] = {"parse_constant": _no_constant, "parse_float": _finite_float} if strict_numbers else {}
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_json_bounded(path: str | os.PathLike, limit: int = TEXT_LIMIT, what: str = "JSON file",
                      strict_numbers: bool = False) -> Any:
    """The parsed JSON of ``path`` (see read_text_bounded, parse_json_text); one line on failure."""
    text = read_text_bounded(path, limit, what)
    try:
        return parse_json_text(text, strict_numbers)
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise TalkclipError(f"{path}: cannot read {what} ({exc})") from None


def same_file(a: Path, b: Path) -> bool:
    """Whether two spellings name one file (symlinks, ``./``, hard links alike)."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_not_an_input(out: str | os.PathLike, inputs: dict[str, str | os.PathLike | None]) -> None:
    """``--force`` replaces an existing output, never one of the command's own inputs:
    ``inputs`` maps how the command names each input (``--audio``, ``TAKE``) to its path."""
    for name, value in inputs.items():
        if value and same_file(Path(value), Path(out)):
            raise TalkclipError(f"{out}: is an input of this command ({name}); refusing to overwrite it")


def check_output_path(path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Fail early, naming the path, if an output cannot be written there."""
    out = Path(path)
    try:
        return _check_output_path(out, overwrite)
    except OSError as exc:  # a parent folder that cannot be searched, ...
        raise TalkclipError(f"{out}: cannot write ({_reason(exc)})") from None


def _check_output_path(out: Path, overwrite: bool) -> Path:
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
    fd, tmp = temporary_beside(out, ".tmp")
    try:
        fh = os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8", newline="")
        with fh:
            yield fh
        _settle(tmp, out, overwrite)
    except OSError as exc:  # a full disk, a quota, an I/O error: one line naming the output
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise TalkclipError(f"{out}: cannot write ({_reason(exc)})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def temporary_beside(out: Path, suffix: str) -> tuple[int, str]:
    """A new temporary file ``.NAME.PID.xxxx<suffix>`` beside ``out`` (fd, path). Temporary files
    of ``out`` left by a run that was killed (its process is gone) are removed first, with a
    warning: SIGKILL and power loss leave them, and nothing else would."""
    _remove_stale(out, suffix)
    try:
        return tempfile.mkstemp(prefix=f".{out.name}.{os.getpid()}.", suffix=suffix, dir=out.parent)
    except OSError as exc:
        raise TalkclipError(f"{out}: cannot write ({_reason(exc)})") from None


def temporary_name(out: Path, suffix: str) -> Path:
    """A fresh name ``.NAME.PID.xxxx<suffix>`` beside ``out``, not created (for writers such as
    Blender's that must create the file themselves); stale ones are removed as above."""
    _remove_stale(out, suffix)
    return out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:10]}{suffix}")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _remove_stale(out: Path, suffix: str) -> None:
    pattern = re.compile(re.escape(f".{out.name}.") + r"(\d+)\.\w+" + re.escape(suffix) + "$")
    with contextlib.suppress(OSError):
        for entry in os.scandir(out.parent):
            m = pattern.match(entry.name)
            if m and not _process_alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    warnings.warn(f"{out}: removed {entry.name}, left by an interrupted run", UserWarning, stacklevel=4)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Like atomic_output, for writers that take a file name (numpy, pygltflib)."""
    out = check_output_path(path, overwrite=overwrite)
    fd, tmp = temporary_beside(out, out.suffix or ".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        _settle(tmp, out, overwrite)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise TalkclipError(f"{out}: cannot write ({_reason(exc)})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
