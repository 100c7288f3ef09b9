#!/usr/bin/env bash
# Set up (if needed) and run the tests. Extra arguments go to pytest.
#
#   bash scripts/test.sh          the fast developer run (no slow tests, no real Blender), on both
#                                 cores (pytest-xdist)
#   bash scripts/test.sh --all    everything, as CI runs it (.ci/run): ruff and mypy, then slow
#                                 tests, Debian's real Blender in a debootstrap root
#                                 (scripts/blender_root.sh) and clean bpy 5.0.1 / 5.2.3 venvs
#                                 (scripts/bpy_venvs.sh), with the zip build_addon.py makes; a
#                                 skipped test fails the run (TALKCLIP_REQUIRE_ALL=1). Under
#                                 CI=true --all is the default.
set -euo pipefail
cd "$(dirname "$0")/.."
all=0
[ "${CI:-}" = "true" ] && all=1
args=()
for a in "$@"; do
  if [ "$a" = "--all" ]; then all=1; else args+=("$a"); fi
done
bash scripts/setup.sh
if [ "$all" = 1 ]; then
  # the conventions as tool checks (pyproject.toml [tool.ruff], [tool.mypy])
  .venv/bin/ruff check --quiet .
  .venv/bin/mypy
  # set-up of the slow groups, loud when it fails (both are cached outside the repository)
  bash scripts/blender_root.sh
  bash scripts/bpy_venvs.sh all
  # every group, in one process (the defaults in pyproject.toml select the fast set on two workers)
  TALKCLIP_REQUIRE_ALL=1 exec .venv/bin/python -m pytest -q -n 0 -m "" ${args[@]+"${args[@]}"}
fi
# pyproject.toml's addopts: -n 2 (pytest-xdist) and -m "not slow and not real_blender and not bpy_matrix"
exec .venv/bin/python -m pytest -q ${args[@]+"${args[@]}"}
