#!/usr/bin/env bash
# Regenerate the synthetic test speech (needs espeak-ng, mbrola, mbrola-us1, mbrola-us2).
set -euo pipefail
cd "$(dirname "$0")"
i=0
while IFS= read -r line; do
  i=$((i + 1))
  for v in us1 us2; do
    espeak-ng -v "mb-$v" -s 150 -q --pho "$line" > "line${i}_$v.pho"
    mbrola -e "/usr/share/mbrola/$v/$v" "line${i}_$v.pho" "line${i}_$v.wav"
    echo "$line" > "line${i}_$v.txt"
  done
done <<'LINES'
Bob and Mary bought five big brown boxes of fresh fruit.
Would you move the blue boat over to the old harbour, please?
We were playing ball by the pool when the phone rang.
LINES
