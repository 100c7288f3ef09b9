#!/usr/bin/env bash
# Set up (if needed) and animate the bundled example line with a style prompt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/talkclip generate --audio examples/hello.wav --transcript-file examples/hello.txt \
  --prompt "a cheerful woman, smiling warmly" --fps 30 --force --out out/hello.json
.venv/bin/talkclip generate --audio examples/hello.wav --transcript-file examples/hello.txt \
  --prompt "a cheerful woman, smiling warmly" --fps 30 --force --out out/hello.csv
echo "demo: wrote out/hello.json and out/hello.csv (Live Link Face CSV)"
