"""Reading NPZ archives from outside safely: every array checked before memory is spent on it.

``np.load`` trusts an archive: a 2 MB file can unpack to gigabytes (a "zip bomb"), and a
``.npy`` header can claim a shape far larger than the data behind it, which numpy allocates
before it reads a byte. ``load_npz`` reads the zip's directory first and refuses an archive that
unpacks to more than a limit, then checks each array's header against the bytes it holds. It
never loads pickles (object arrays) and names the file and the problem in one line on failure.
"""

from __future__ import annotations

import io
import math
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from talkclip_model.errors import TalkclipError

MiB = 1 << 20
NPZ_LIMIT = 1024 * MiB  # unpacked bytes: a 60 fps take of several hours with its layers fits


def _size(n: int) -> str:
    return f"{n / MiB:.0f} MB" if n >= MiB else f"{n} bytes"


def _open_archive(path: Path, what: str) -> zipfile.ZipFile:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise TalkclipError(f"{path}: not a regular file; expected a {what}")
        return zipfile.ZipFile(path)
    except TalkclipError:
        raise
    except Exception as exc:  # zipfile raises many types for a damaged archive
        detail = getattr(exc, "strerror", None) or " ".join(str(exc).split())
        raise TalkclipError(f"{path}: cannot read {what} (not an NPZ archive: {detail})") from None


def _array(raw: bytes, name: str, path: Path, what: str) -> np.ndarray:
    """One ``.npy`` member, its header checked against its data before anything is allocated."""
    buf = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(buf)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(buf)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(buf)
        else:
            raise ValueError(f".npy format version {version[0]}.{version[1]} is not read")
    except (ValueError, TypeError, SyntaxError, EOFError, OverflowError) as exc:
        raise TalkclipError(f"{path}: {what} array {name!r} is not a valid .npy ({' '.join(str(exc).split())})") from None
    if dtype.hasobject:
        raise TalkclipError(f"{path}: {what} array {name!r} holds Python objects; pickles are not loaded")
    count = math.prod(shape)
    held = len(raw) - buf.tell()
    if count * dtype.itemsize != held:
        raise TalkclipError(f"{path}: {what} array {name!r} claims shape {shape} ({count * dtype.itemsize} bytes) "
                            f"but holds {held} bytes")
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=buf.tell())
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def load_npz(path, what: str = "NPZ", limit: int | None = None) -> dict[str, np.ndarray]:
    """{name: array} of an NPZ archive (``name.npy`` members), checked as the module docstring says."""
    path = Path(path)
    limit = NPZ_LIMIT if limit is None else limit
    with _open_archive(path, what) as zf:
        members = zf.infolist()
        total = sum(m.file_size for m in members)
        if total > limit:
            raise TalkclipError(f"{path}: {what} unpacks to {_size(total)}, more than the {_size(limit)} read")
        out: dict[str, np.ndarray] = {}
        for m in members:
            if m.is_dir():
                continue
            name = m.filename[:-4] if m.filename.endswith(".npy") else m.filename
            try:
                with zf.open(m) as fh:
                    raw = fh.read(m.file_size + 1)
            except Exception as exc:  # zlib.error, BadZipFile, EOFError, struct.error, ...: a damaged archive
                raise TalkclipError(f"{path}: cannot read {what} member {m.filename!r} "
                                    f"({' '.join(str(exc).split())})") from None
            if len(raw) > m.file_size:
                raise TalkclipError(f"{path}: {what} member {m.filename!r} is longer than its directory says")
            out[name] = _array(raw, name, path, what)
    return out


def names_array(value: np.ndarray, key: str, path, what: str, limit: int = 100_000) -> list[str]:
    """A 1-D array of strings as a list (channel names), refused by name when it is not one."""
    if value.ndim != 1 or value.dtype.kind not in "US":
        raise TalkclipError(f"{path}: {what} {key!r} must be a list of names, got a {value.dtype} array of shape {value.shape}")
    if len(value) > limit:
        raise TalkclipError(f"{path}: {what} {key!r} has {len(value)} names, more than {limit}")
    if value.dtype.kind == "S":
        try:
            return [bytes(v).decode("utf-8") for v in value]
        except UnicodeDecodeError:
            raise TalkclipError(f"{path}: {what} {key!r} holds names that are not UTF-8") from None
    return [str(v) for v in value]


def float_array(value: np.ndarray, key: str, path, what: str) -> np.ndarray:
    """``value`` as float32, refused by name unless it is numbers and all finite at float32."""
    if value.dtype.kind not in "biuf":
        raise TalkclipError(f"{path}: {what} {key!r} must hold numbers, got {value.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(value, dtype=np.float32)
    if not np.all(np.isfinite(out)):
        raise TalkclipError(f"{path}: {what} {key!r} holds NaN or infinity (or values beyond float32)")
    return out


def save_npz(fh, arrays: dict) -> None:
    """``np.savez_compressed`` into the open binary file ``fh``, closing the archive even when a
    write fails (numpy's own leaves it to the garbage collector, which then prints a traceback
    about writing to a closed file after a full disk)."""
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for key, value in arrays.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
