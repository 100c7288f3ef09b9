"""Third-party wheels for the extension: what the run time imports, resolved by pip with its own
dependencies for every supported CPython on each Blender platform, less what Blender ships."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from addon_build import log

# CPython of each supported Blender: 4.2 LTS - 5.0 run 3.11; 5.1, 5.2 LTS, 5.3 (and Debian's 4.3) run 3.13.
PYTHON_VERSIONS = ("3.11", "3.13")
# Blender platform name -> pip --platform tags (best first)
PLATFORMS: dict[str, tuple[str, ...]] = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_13_0_arm64", "macosx_14_0_arm64"),
}
# What the pipeline imports at run time (their own dependencies are resolved by pip).
RUNTIME_REQUIREMENTS = ("onnxruntime", "pocketsphinx", "tokenizers", "soundfile", "soxr", "tqdm", "pykakasi",
                        "espeakng-loader", "faster-whisper")
# Left out by ``build_addon.py --no-whisper`` (about 150 MB of the Linux zip: CTranslate2, PyAV):
# lines without a transcript then use PocketSphinx.
WHISPER_REQUIREMENTS = ("faster-whisper",)
# Packages every supported Blender already ships in its Python; bundling a second copy would
# shadow Blender's own (numpy above all: Blender's modules are built against it).
BLENDER_SHIPS = frozenset({"numpy", "requests", "certifi", "charset-normalizer", "idna", "urllib3",
                           "zstandard", "cython"})
# Dependencies reached only through a feature the add-on never uses; left out with what only
# they pull in: sounddevice serves pocketsphinx's live-microphone input (we decode files).
NOT_USED_AT_RUN_TIME = frozenset({"sounddevice"})
# Bundled without their own dependencies, which serve what the add-on never does: faster-whisper
# imports huggingface-hub for model downloads (nothing is downloaded: the model is a local
# folder), and huggingface-hub loads its HTTP stack (httpx, hf-xet, fsspec, ...) only when it
# downloads; ctranslate2 needs pyyaml and setuptools only for its model converters.
BUNDLED_WITHOUT_DEPENDENCIES = frozenset({"huggingface-hub", "ctranslate2"})
# PEP 508 marker environment of each Blender platform (the Python version is added per build)
MARKER_ENV = {
    "linux-x64": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix"},
    "windows-x64": {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64", "os_name": "nt"},
    "macos-arm64": {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64", "os_name": "posix"},
}


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


def runtime_closure(wheels: list[Path], env: dict, requirements: tuple[str, ...] | None = None) -> list[Path]:
    """The resolved wheels the run time needs: RUNTIME_REQUIREMENTS and, transitively, what they
    require in ``env`` (not those of BUNDLED_WITHOUT_DEPENDENCIES), minus what Blender ships and
    NOT_USED_AT_RUN_TIME."""
    by_project = {wheel_project(w.name): w for w in wheels}
    todo, seen = list(RUNTIME_REQUIREMENTS if requirements is None else requirements), set()
    while todo:
        name = todo.pop()
        if name in seen or name in BLENDER_SHIPS or name in NOT_USED_AT_RUN_TIME:
            continue
        if name not in by_project:
            raise MissingWheel(name)
        seen.add(name)
        if name not in BUNDLED_WITHOUT_DEPENDENCIES:
            todo += _requires(by_project[name], env)
    return [by_project[n] for n in sorted(seen)]


class MissingWheel(RuntimeError):
    def __init__(self, project: str) -> None:
        super().__init__(f"pip resolved no wheel for {project}")
        self.project = project


def _platform_closure(version: str, platform: str, env: dict, cache: Path, wanted: tuple[str, ...]) -> list[Path]:
    """runtime_closure for one CPython on ``platform``. pip resolves dependencies with the markers
    of the machine it runs on, so one that only ``platform`` needs (colorama for tqdm on Windows)
    is missing the first time: it is then asked for by name, and the closure taken again."""
    requirements = list(wanted)
    while True:
        resolved = pip_download(tuple(requirements), version, PLATFORMS[platform], cache)
        try:
            return runtime_closure(resolved, env, wanted)
        except MissingWheel as exc:
            if exc.project in requirements:
                raise
            requirements.append(exc.project)


def stage_wheels(stage: Path, platform: str, cache: Path, python_versions=PYTHON_VERSIONS,
                 whisper: bool = True) -> list[Path]:
    """Third-party wheels for every supported CPython on ``platform``: what the run time needs
    (without WHISPER_REQUIREMENTS unless ``whisper``), dependencies resolved by pip, less what
    Blender ships and what no run-time path imports."""
    wanted = tuple(r for r in RUNTIME_REQUIREMENTS if whisper or r not in WHISPER_REQUIREMENTS)
    chosen: dict[str, Path] = {}
    for version in python_versions:
        env = {**MARKER_ENV[platform], "python_version": version, "python_full_version": f"{version}.0",
               "implementation_name": "cpython", "platform_python_implementation": "CPython"}
        for whl in _platform_closure(version, platform, env, cache / platform, wanted):
            chosen[whl.name] = whl
    wheels_dir = stage / "wheels"
    wheels_dir.mkdir(parents=True, exist_ok=True)
    for name, whl in sorted(chosen.items()):
        shutil.copy2(whl, wheels_dir / name)
    projects = sorted({wheel_project(n) for n in chosen})
    log(f"{platform}: {len(chosen)} wheels for Python {', '.join(python_versions)}: {', '.join(projects)}")
    return [wheels_dir / n for n in sorted(chosen)]


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

