"""Our own packages as one wheel, ``talkclip-<version>-py3-none-any.whl``, that Blender installs
into the extension's site-packages: the run time exactly as it is in the repository."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from addon_build import ROOT

OUR_PACKAGES = ("talkclip_model", "exporters", "talkclip_cli")
# Sub-packages that never run inside Blender: torch training and the lip benchmarks' scoring.
NOT_SHIPPED = ("talkclip_model/training", "talkclip_model/evaluation")
SKIP_NAMES = {"__pycache__", ".pytest_cache", ".DS_Store"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".tmp")


def package_files(src: Path):
    """(path, path relative to src) of a package's files, without caches and build debris."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_dir() or any(part in SKIP_NAMES for part in rel.parts) or path.suffix in SKIP_SUFFIXES:
            continue
        yield path, rel


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_own_wheel(dest: Path, version: str) -> Path:
    """``talkclip-<version>-py3-none-any.whl`` holding ``talkclip_model`` (minus ``NOT_SHIPPED``),
    ``exporters`` and ``talkclip_cli`` (the worker process) as they are in the repository (code and package data). Written directly: a wheel is a zip with a
    dist-info folder, and this keeps the build free of a second packaging tool and of
    blender_addon/, which Blender loads from the extension root."""
    dest.mkdir(parents=True, exist_ok=True)
    dist_info = f"talkclip-{version}.dist-info"
    out = dest / f"talkclip-{version}-py3-none-any.whl"
    files: list[tuple[str, bytes]] = []
    for pkg in OUR_PACKAGES:
        for path, rel in package_files(ROOT / pkg):
            name = f"{pkg}/{rel.as_posix()}"
            if not name.startswith(tuple(f"{folder}/" for folder in NOT_SHIPPED)):
                files.append((name, path.read_bytes()))
    files.append((f"{dist_info}/METADATA",
                  f"Metadata-Version: 2.1\nName: talkclip\nVersion: {version}\n"
                  "Summary: TalkCLIP run time (talkclip_model, exporters, talkclip_cli) for the Blender extension\n".encode()))
    files.append((f"{dist_info}/WHEEL",
                  b"Wheel-Version: 1.0\nGenerator: build_addon.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files)
    record += f"{dist_info}/RECORD,,\n"
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data,
                        compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(2020, 1, 1, 0, 0, 0)), record)
    tmp.replace(out)
    return out

