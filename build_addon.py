#!/usr/bin/env python3
"""Build the Blender extension: one zip per platform, ``dist/talkclip-<version>-<platform>.zip``
(Edit > Preferences > Get Extensions > Install from Disk), each working in every supported
Blender (4.2 LTS to 5.3: Python 3.11 and 3.13).

    python build_addon.py                      # linux-x64, windows-x64, macos-arm64: three zips
    python build_addon.py --platforms linux-x64
    python build_addon.py --no-wheels          # no third-party wheels (tests, offline builds)

What goes in (staged under build/extension/<platform>/, zipped by Blender's own extension tool,
the ``blender_ext.py`` CLI shipped inside the bpy wheel, or by zipfile when that is unavailable):

- ``blender_addon/*`` at the root of the extension, unmodified;
- ``wheels/talkclip-<version>-py3-none-any.whl``: our own packages, ``talkclip_model`` (without
  training and evaluation), ``exporters`` and ``talkclip_cli``, as a wheel of their own, unmodified. Blender installs it into the extension
  site-packages, so ``from talkclip_model.pipeline import Pipeline`` means the same in the
  repository and in the installed extension (no import rewriting, no ``sys.path`` tricks);
- ``wheels/``: the run-time dependencies (``RUNTIME_REQUIREMENTS``) resolved by pip *with* their
  own dependencies, for every supported CPython (``PYTHON_VERSIONS``) on the platform, downloaded
  unmodified into a wheel cache. Left out: what Blender ships (``BLENDER_SHIPS``: numpy above
  all). Blender reads the wheels' tags and installs only those matching the running Python;
- ``models/encoders/``: the MiniLM text encoder as ONNX + its hash manifest + tokenizer, stored
  once; the add-on reads it in place (``TALKCLIP_MODELS``), never copying it;
- ``blender_manifest.toml`` generated from pyproject.toml ([project] + [tool.talkclip.blender])
  and talkclip_model/_version.py, so the version has one source.

Each zip is checked with ``blender_ext.py validate`` and, when a ``blender`` binary is on PATH
(or given with --blender), ``blender --command extension validate``. The build reports the zip
size and what one install occupies on disk for each Python.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
OUR_PACKAGES = ("talkclip_model", "exporters", "talkclip_cli")
# Sub-packages that never run inside Blender: torch training and the lip benchmarks' scoring.
NOT_SHIPPED = ("talkclip_model/training", "talkclip_model/evaluation")
ADDON_PACKAGE = "blender_addon"
# CPython of each supported Blender: 4.2 LTS - 5.0 run 3.11; 5.1, 5.2 LTS, 5.3 (and Debian's 4.3) run 3.13.
PYTHON_VERSIONS = ("3.11", "3.13")
SUPPORTED_BLENDERS = "Blender 4.2 LTS, 4.5 LTS, 5.0 (Python 3.11), 5.1, 5.2 LTS, 5.3 (Python 3.13)"
# Blender platform name -> pip --platform tags (best first)
PLATFORMS: dict[str, tuple[str, ...]] = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_13_0_arm64", "macosx_14_0_arm64"),
}
# What the pipeline imports at run time (their own dependencies are resolved by pip).
RUNTIME_REQUIREMENTS = ("onnxruntime", "pocketsphinx", "tokenizers", "soundfile", "soxr", "tqdm")
# Packages every supported Blender already ships in its Python; bundling a second copy would
# shadow Blender's own (numpy above all: Blender's modules are built against it).
BLENDER_SHIPS = frozenset({"numpy", "requests", "certifi", "charset-normalizer", "idna", "urllib3",
                           "zstandard", "cython"})
# Dependencies reached only through a feature the add-on never uses; left out with what only
# they pull in (a whole HTTP stack): huggingface-hub serves tokenizers' Tokenizer.from_pretrained
# download (nothing is downloaded at run time: the tokenizer ships beside the encoder);
# sounddevice serves pocketsphinx's live-microphone input (we decode files).
NOT_USED_AT_RUN_TIME = frozenset({"huggingface-hub", "sounddevice"})
# PEP 508 marker environment of each Blender platform (the Python version is added per build)
MARKER_ENV = {
    "linux-x64": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix"},
    "windows-x64": {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64", "os_name": "nt"},
    "macos-arm64": {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64", "os_name": "posix"},
}
SKIP_NAMES = {"__pycache__", ".pytest_cache", ".DS_Store"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".tmp")


def log(msg: str) -> None:
    print(f"build_addon: {msg}", flush=True)


def read_version() -> str:
    text = (ROOT / "talkclip_model" / "_version.py").read_text(encoding="utf-8")
    m = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.M)
    if not m:
        raise SystemExit("build_addon: no __version__ in talkclip_model/_version.py")
    return m.group(1)


def read_metadata() -> dict:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    blender = data.get("tool", {}).get("talkclip", {}).get("blender", {})
    lic = project.get("license", {})
    spdx = lic.get("text") if isinstance(lic, dict) else str(lic)
    authors = project.get("authors") or [{"name": "unknown"}]
    return {
        "id": blender.get("id", project["name"]),
        "name": blender.get("name", "TalkCLIP"),
        "tagline": blender.get("tagline", project.get("description", ""))[:64].rstrip(". "),
        "maintainer": authors[0].get("name", "unknown"),
        "blender_version_min": blender.get("blender_version_min", "4.2.0"),
        "license": [f"SPDX:{spdx or 'GPL-3.0-or-later'}"],
        "permissions": blender.get("permissions", {"files": "Read audio and write exported animation files"}),
        "website": blender.get("website"),
        "tags": blender.get("tags", ["Animation"]),
    }


def _toml_value(v) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        return "[\n" + "".join(f"  {_toml_value(x)},\n" for x in v) + "]"
    raise TypeError(v)


def manifest_text(meta: dict, version: str, platforms: list[str] | None, wheels: list[str]) -> str:
    lines = ["# Generated by build_addon.py from pyproject.toml; do not edit.",
             f"# Supported: {SUPPORTED_BLENDERS}; wheels for Python {' and '.join(PYTHON_VERSIONS)}",
             "# (Blender installs those matching its Python), numpy 1.x and 2.x, legacy and slotted actions.",
             'schema_version = "1.0.0"', ""]
    fields = [("id", meta["id"]), ("version", version), ("name", meta["name"]), ("tagline", meta["tagline"]),
              ("maintainer", meta["maintainer"]), ("type", "add-on")]
    if meta.get("website"):
        fields.append(("website", meta["website"]))
    fields += [("tags", meta["tags"]), ("blender_version_min", meta["blender_version_min"]),
               ("license", meta["license"])]
    if platforms:
        fields.append(("platforms", platforms))
    if wheels:
        fields.append(("wheels", wheels))
    lines += [f"{k} = {_toml_value(v)}" for k, v in fields]
    lines += ["", "[permissions]"] + [f"{k} = {_toml_value(v)}" for k, v in meta["permissions"].items()]
    lines += ["", "[build]", 'paths_exclude_pattern = [', '  "__pycache__/",', '  "*.pyc",', '  ".*",', "]", ""]
    return "\n".join(lines)


def _package_files(src: Path):
    """(path, path relative to src) of a package's files, without caches and build debris."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_dir() or any(part in SKIP_NAMES for part in rel.parts) or path.suffix in SKIP_SUFFIXES:
            continue
        yield path, rel


def stage_addon(stage: Path) -> None:
    """The add-on package itself at the extension root, unmodified."""
    n = 0
    for path, rel in _package_files(ROOT / ADDON_PACKAGE):
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, stage / rel)
        n += 1
    log(f"staged {n} files of {ADDON_PACKAGE}")


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
        for path, rel in _package_files(ROOT / pkg):
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


def project_name(name: str) -> str:
    """A project name normalised as PyPI compares them (``typing_extensions`` -> ``typing-extensions``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_project(filename: str) -> str:
    """The normalised project name of a wheel file (``typing_extensions-4.1-...`` -> ``typing-extensions``)."""
    return project_name(filename.split("-")[0])


def wheel_pythons(filename: str) -> set[str] | None:
    """CPython versions ('3.11') a wheel is built for; None for pure or abi3 wheels (any)."""
    parts = filename[:-len(".whl")].split("-")
    python_tag, abi_tag = parts[-3], parts[-2]
    if abi_tag in ("none", "abi3") or not python_tag.startswith("cp"):
        return None
    return {f"{t[2]}.{t[3:]}" for t in python_tag.split(".") if t.startswith("cp") and len(t) > 3}


def pip_download(requirements: tuple[str, ...], python_version: str, platform_tags: tuple[str, ...],
                 dest: Path) -> list[Path]:
    """Binary wheels of ``requirements`` and everything they depend on, for one CPython on one
    platform; pip resolves and caches them in ``dest``. Returns the resolved set."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--implementation", "cp",
           "--python-version", python_version, "--dest", str(dest), *requirements]
    for tag in platform_tags:
        cmd += ["--platform", tag]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise RuntimeError(f"pip download for Python {python_version} ({platform_tags[0]}): {last}")
    # pip names every file it resolved ("Saved ..." or "File was already downloaded ...")
    names = set(re.findall(r"([A-Za-z0-9_.+-]+\.whl)\b", proc.stdout))
    found = sorted(dest / n for n in names if (dest / n).is_file())
    if not found:
        raise RuntimeError(f"pip download for Python {python_version} ({platform_tags[0]}) reported no wheels")
    return found


def _requires(whl: Path, env: dict) -> list[str]:
    """Projects a wheel depends on in the marker environment ``env`` (no extras)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # a bare Python: pip carries its own copy
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]

    with zipfile.ZipFile(whl) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = zf.read(meta).decode("utf-8", "replace").splitlines()
    out = []
    for line in lines:
        if line.startswith("Requires-Dist:"):
            req = Requirement(line.split(":", 1)[1].strip())
            if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
                out.append(project_name(req.name))
    return out


def runtime_closure(wheels: list[Path], env: dict) -> list[Path]:
    """The resolved wheels the run time needs: RUNTIME_REQUIREMENTS and, transitively, what they
    require in ``env``, minus what Blender ships and NOT_USED_AT_RUN_TIME."""
    by_project = {wheel_project(w.name): w for w in wheels}
    todo, seen = list(RUNTIME_REQUIREMENTS), set()
    while todo:
        name = todo.pop()
        if name in seen or name in BLENDER_SHIPS or name in NOT_USED_AT_RUN_TIME:
            continue
        if name not in by_project:
            raise RuntimeError(f"pip resolved no wheel for {name}")
        seen.add(name)
        todo += _requires(by_project[name], env)
    return [by_project[n] for n in sorted(seen)]


def stage_wheels(stage: Path, platform: str, cache: Path, python_versions=PYTHON_VERSIONS) -> list[Path]:
    """Third-party wheels for every supported CPython on ``platform``: what the run time needs,
    dependencies resolved by pip, less what Blender ships and what no run-time path imports."""
    chosen: dict[str, Path] = {}
    for version in python_versions:
        env = {**MARKER_ENV[platform], "python_version": version, "python_full_version": f"{version}.0",
               "implementation_name": "cpython", "platform_python_implementation": "CPython"}
        resolved = pip_download(RUNTIME_REQUIREMENTS, version, PLATFORMS[platform], cache / platform)
        for whl in runtime_closure(resolved, env):
            chosen[whl.name] = whl
    wheels_dir = stage / "wheels"
    wheels_dir.mkdir(parents=True, exist_ok=True)
    for name, whl in sorted(chosen.items()):
        shutil.copy2(whl, wheels_dir / name)
    projects = sorted({wheel_project(n) for n in chosen})
    log(f"{platform}: {len(chosen)} wheels for Python {', '.join(python_versions)}: {', '.join(projects)}")
    return [wheels_dir / n for n in sorted(chosen)]


def stage_encoder_model(stage: Path) -> None:
    """The MiniLM ONNX export, its hash manifest and its tokenizer in ``models/encoders/``: the only
    copy of the text encoder in an install (Blender has no torch to export one, and the add-on
    reads these in place)."""
    import json

    from talkclip_model.style import encoders  # this script sits beside the package

    onnx = encoders.cache_dir() / "encoders" / encoders.MINILM_ONNX_NAME
    manifest = onnx.with_suffix(".json")  # the encoder checks the ONNX against this
    if not (onnx.is_file() and manifest.is_file()):
        log(f"exporting the MiniLM encoder to {onnx} (once; needs torch)")
        try:
            from talkclip_model.training.export_encoder import export_minilm

            export_minilm(onnx)
        except ImportError as exc:
            raise RuntimeError(f"no MiniLM ONNX export at {onnx} and it cannot be made here ({exc}); "
                               "run scripts/setup.sh, or build with --no-model") from None
    try:
        encoders.verify_sha256(onnx, json.loads(manifest.read_text())["onnx_sha256"], "MiniLM ONNX encoder")
    except (encoders.TalkclipError, ValueError, KeyError) as exc:
        raise RuntimeError(f"{manifest}: cannot vouch for the encoder to bundle ({exc})") from None
    tokenizer = onnx.with_suffix(".tokenizer.json")
    if not tokenizer.is_file():
        tokenizer = encoders.minilm_model_dir() / "tokenizer.json"
    dst = stage / "models" / "encoders" / onnx.name
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(onnx, dst)
    shutil.copy2(manifest, dst.with_suffix(".json"))
    shutil.copy2(tokenizer, dst.with_suffix(".tokenizer.json"))
    log(f"bundled text encoder {dst.relative_to(stage)} ({dst.stat().st_size / 1e6:.0f} MB)")


def install_sizes(stage: Path, python_versions=PYTHON_VERSIONS) -> dict[str, int]:
    """Bytes one install occupies for each CPython: the extension folder as unpacked (Blender keeps
    its wheels/ too) plus the wheels for that Python unpacked into site-packages."""
    folder = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file())
    sizes = {}
    for version in python_versions:
        extracted = 0
        for whl in sorted((stage / "wheels").glob("*.whl")):
            pythons = wheel_pythons(whl.name)
            if pythons is None or version in pythons:
                with zipfile.ZipFile(whl) as zf:
                    extracted += sum(i.file_size for i in zf.infolist())
        sizes[version] = folder + extracted
    return sizes


def blender_ext_tool() -> Path | None:
    """blender_ext.py inside the installed bpy wheel (found without importing bpy)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        hits = sorted(Path(loc).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if hits:
            return hits[-1]
    return None


def zip_with_zipfile(stage: Path, out: Path) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(stage.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(stage).as_posix())


def build_zip(stage: Path, out: Path) -> None:
    tool = blender_ext_tool()
    if out.exists():
        out.unlink()
    if tool is None:
        log("notice: Blender's extension tool (bpy wheel) not found; zipping with zipfile")
        zip_with_zipfile(stage, out)
        return
    proc = subprocess.run([sys.executable, str(tool), "build", "--source-dir", str(stage),
                           "--output-filepath", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not out.is_file():
        raise SystemExit(f"build_addon: extension build failed:\n{proc.stdout}{proc.stderr}")
    proc = subprocess.run([sys.executable, str(tool), "validate", str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"build_addon: extension validate failed:\n{proc.stdout}{proc.stderr}")
    log("validated with blender_ext.py")


def validate_with_blender(out: Path, blender: str | None) -> None:
    exe = blender or shutil.which("blender")
    if not exe:
        log("notice: no blender binary on PATH; skipped `blender --command extension validate`")
        return
    proc = subprocess.run([exe, "--factory-startup", "--command", "extension", "validate", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"build_addon: blender --command extension validate failed:\n{proc.stdout}{proc.stderr}")
    log(f"validated with {exe}")


def zip_name(meta: dict, version: str, platform: str | None) -> str:
    """Blender's own naming for split-platform builds: ``talkclip-0.1.0-linux_x64.zip``."""
    return f"{meta['id']}-{version}" + (f"-{platform.replace('-', '_')}" if platform else "") + ".zip"


def build_one(stage: Path, out: Path, meta: dict, version: str, platform: str | None, own_wheel: Path,
              cache: Path, model: bool, blender: str | None) -> Path:
    """Stage and zip the extension for one platform (None: no third-party wheels, any platform)."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    stage_addon(stage)
    (stage / "wheels").mkdir()
    shutil.copy2(own_wheel, stage / "wheels" / own_wheel.name)
    if platform is not None:
        stage_wheels(stage, platform, cache)
    if model:
        stage_encoder_model(stage)
    wheel_paths = [f"./wheels/{p.name}" for p in sorted((stage / "wheels").glob("*.whl"))]
    (stage / "blender_manifest.toml").write_text(
        manifest_text(meta, version, [platform] if platform else None, wheel_paths), encoding="utf-8")
    build_zip(stage, out)
    validate_with_blender(out, blender)
    sizes = install_sizes(stage)
    log(f"built {out} ({out.stat().st_size / 1e6:.1f} MB zip; installed: "
        + ", ".join(f"{sizes[v] / 1e6:.0f} MB on Python {v}" for v in sizes) + ")")
    return out


def build(output_dir: Path = ROOT / "dist", platforms: list[str] | None = None, wheels: bool = True,
          model: bool = True, blender: str | None = None, stage: Path | None = None,
          wheel_cache: Path | None = None) -> list[Path]:
    """Build the extension zips; returns their paths (one per platform, or one with --no-wheels)."""
    version = read_version()
    meta = read_metadata()
    platforms = list(platforms or PLATFORMS)
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise SystemExit(f"build_addon: unknown platform {', '.join(unknown)}; known: {', '.join(PLATFORMS)}")
    stage = stage or ROOT / "build" / "extension"
    output_dir.mkdir(parents=True, exist_ok=True)
    own_wheel = build_own_wheel(stage / "own-wheel", version)
    cache = wheel_cache or output_dir / ".wheel-cache"
    outs = []
    for platform in (platforms if wheels else [None]):
        outs.append(build_one(stage / (platform or "any"), output_dir / zip_name(meta, version, platform), meta,
                              version, platform, own_wheel, cache, model, blender))
    return outs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output-dir", type=Path, default=ROOT / "dist", help="where the zips go (default: dist/)")
    p.add_argument("--platforms", default=",".join(PLATFORMS),
                   help=f"comma-separated Blender platforms, one zip each (default: {','.join(PLATFORMS)})")
    p.add_argument("--no-wheels", action="store_true",
                   help="bundle no third-party wheels (Blender's Python must already have them); one zip")
    p.add_argument("--no-model", action="store_true", help="do not bundle the text encoder")
    p.add_argument("--blender", help="Blender binary for `--command extension validate` (default: PATH)")
    p.add_argument("--stage-dir", type=Path, help="staging folder (default: build/extension)")
    p.add_argument("--wheel-cache", type=Path, help="downloaded wheels are kept here (default: OUTPUT_DIR/.wheel-cache)")
    args = p.parse_args(argv)
    try:
        build(args.output_dir, [s for s in args.platforms.split(",") if s], wheels=not args.no_wheels,
              model=not args.no_model, blender=args.blender, stage=args.stage_dir, wheel_cache=args.wheel_cache)
    except RuntimeError as exc:
        print(f"build_addon: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
