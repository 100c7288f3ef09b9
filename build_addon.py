#!/usr/bin/env python3
"""Build the Blender extension: one zip per platform, ``dist/talkclip-<version>-<platform>.zip``
(Edit > Preferences > Get Extensions > Install from Disk), each working in every supported
Blender (4.2 LTS to 5.3: Python 3.11 and 3.13).

    python build_addon.py                      # linux-x64, windows-x64, macos-arm64: three zips
    python build_addon.py --platforms linux-x64
    python build_addon.py --no-wheels          # no third-party wheels (tests, offline builds)
    python build_addon.py --no-whisper         # without Whisper (smaller; no-transcript lines use PocketSphinx)

What goes in (staged under build/extension/<platform>/, zipped by Blender's own extension tool,
the ``blender_ext.py`` CLI shipped inside the bpy wheel, or by zipfile when that is unavailable):

- ``blender_addon/*`` at the root of the extension, unmodified;
- ``wheels/talkclip-<version>-py3-none-any.whl`` (``addon_build/own_wheel.py``): our own packages, ``talkclip_model`` (without
  training and evaluation), ``exporters`` and ``talkclip_cli``, as a wheel of their own, unmodified. Blender installs it into the extension
  site-packages, so ``from talkclip_model.pipeline import Pipeline`` means the same in the
  repository and in the installed extension (no import rewriting, no ``sys.path`` tricks);
- ``wheels/``: the run-time dependencies (``addon_build/wheels.py``: ``RUNTIME_REQUIREMENTS``) resolved by pip *with* their
  own dependencies, for every supported CPython (``PYTHON_VERSIONS``) on the platform, downloaded
  unmodified into a wheel cache. Left out: what Blender ships (``BLENDER_SHIPS``: numpy above
  all). Blender reads the wheels' tags and installs only those matching the running Python;
- ``models/encoders/``: the MiniLM text encoder as ONNX + its hash manifest + tokenizer, stored
  once; the add-on reads it in place (``TALKCLIP_MODELS``), never copying it;
- ``blender_manifest.toml`` (``addon_build/manifest.py``) generated from pyproject.toml ([project] + [tool.talkclip.blender])
  and talkclip_model/_version.py, so the version has one source.

Each zip is checked with ``blender_ext.py validate`` and, when a ``blender`` binary is on PATH
(or given with --blender), ``blender --command extension validate``. The build reports the zip
size and what one install occupies on disk for each Python.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from addon_build import ROOT, log
from addon_build.manifest import manifest_text, read_metadata, read_version
from addon_build.own_wheel import build_own_wheel, package_files
from addon_build.wheels import PLATFORMS, install_sizes, stage_wheels

ADDON_PACKAGE = "blender_addon"


def stage_addon(stage: Path) -> None:
    """The add-on package itself at the extension root, unmodified."""
    n = 0
    for path, rel in package_files(ROOT / ADDON_PACKAGE):
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, stage / rel)
        n += 1
    log(f"staged {n} files of {ADDON_PACKAGE}")


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
              cache: Path, model: bool, blender: str | None, whisper: bool = True) -> Path:
    """Stage and zip the extension for one platform (None: no third-party wheels, any platform)."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    stage_addon(stage)
    (stage / "wheels").mkdir()
    shutil.copy2(own_wheel, stage / "wheels" / own_wheel.name)
    if platform is not None:
        stage_wheels(stage, platform, cache, whisper=whisper)
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
          wheel_cache: Path | None = None, whisper: bool = True) -> list[Path]:
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
                              version, platform, own_wheel, cache, model, blender, whisper))
    return outs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output-dir", type=Path, default=ROOT / "dist", help="where the zips go (default: dist/)")
    p.add_argument("--platforms", default=",".join(PLATFORMS),
                   help=f"comma-separated Blender platforms, one zip each (default: {','.join(PLATFORMS)})")
    p.add_argument("--no-wheels", action="store_true",
                   help="bundle no third-party wheels (Blender's Python must already have them); one zip")
    p.add_argument("--no-model", action="store_true", help="do not bundle the text encoder")
    p.add_argument("--no-whisper", action="store_true",
                   help="leave out Whisper (faster-whisper, CTranslate2, PyAV: about 150 MB of the Linux zip); "
                        "lines without a transcript then use PocketSphinx")
    p.add_argument("--blender", help="Blender binary for `--command extension validate` (default: PATH)")
    p.add_argument("--stage-dir", type=Path, help="staging folder (default: build/extension)")
    p.add_argument("--wheel-cache", type=Path, help="downloaded wheels are kept here (default: OUTPUT_DIR/.wheel-cache)")
    args = p.parse_args(argv)
    try:
        build(args.output_dir, [s for s in args.platforms.split(",") if s], wheels=not args.no_wheels,
              model=not args.no_model, blender=args.blender, stage=args.stage_dir, wheel_cache=args.wheel_cache,
              whisper=not args.no_whisper)
    except RuntimeError as exc:
        print(f"build_addon: error: {exc}", file=sys.stderr)
        return 1
    return 0



if __name__ == "__main__":
    sys.exit(main())
