#!/usr/bin/env bash
# A Debian trixie root holding Debian's real Blender (4.3, Python 3.13) for the real-Blender tests
# (tests/real_blender). Root only. Kept outside the repository.
#
#   scripts/blender_root.sh                 make the root if needed; prints its path last
#   scripts/blender_root.sh path            print the root's path (does not build)
#   scripts/blender_root.sh run [OPTIONS] [--] CMD [ARG...]
#                                           run CMD inside the root
#
# run OPTIONS:
#   --bind DIR       bind the host folder DIR at the same path inside the root (read-write)
#   --ro-bind DIR    the same, read-only
#   --home DIR       HOME inside the root (default: a fresh /tmp/home)
#   --chdir DIR      working folder inside the root (default /tmp)
#   --env NAME=VALUE pass a variable (the command starts with a clean environment)
#   --net            keep the host's network (default: none, loopback only)
#
# The command runs in private mount, PID, IPC and network namespaces: /proc, /dev, /sys, a fresh
# tmpfs /tmp and the --bind folders are mounted in that namespace only, so they disappear with
# it whatever happens (exit, crash, kill -9 of this script); nothing ever stays mounted on the
# host, and concurrent runs cannot see each other's /tmp or X displays. Killing this script kills
# everything started inside.
#
# Building (about a minute): `debootstrap --variant=minbase trixie ROOT MIRROR`, then apt-get (no
# recommends) installs $PACKAGES. MIRROR is the Debian archive of the host's apt sources, as
# scripts/debian_mirror.sh finds it (TALKCLIP_DEBIAN_MIRROR overrides). A stamp file marks a
# finished root; a root without it is half-made and is removed and rebuilt. Concurrent calls
# wait on a lock. The root: $TALKCLIP_BLENDER_ROOT, default ~/.cache/talkclip/blender-root.
set -euo pipefail

ROOT=${TALKCLIP_BLENDER_ROOT:-$HOME/.cache/talkclip/blender-root}
SUITE=trixie
PACKAGES="blender python3-numpy xvfb xauth libgl1-mesa-dri xdotool imagemagick"
STAMP_NAME=.talkclip-blender-root
export LC_ALL=C
SELF=$(realpath "$0")

die() { echo "blender_root.sh: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mounts need it)"; }

# The Debian archive the host's apt uses (scripts/debian_mirror.sh prints "URI SUITE"), or
# TALKCLIP_DEBIAN_MIRROR.
find_mirror() {
  if [ -n "${TALKCLIP_DEBIAN_MIRROR:-}" ]; then echo "$TALKCLIP_DEBIAN_MIRROR"; return; fi
  "$(dirname "$SELF")/debian_mirror.sh" 2>/dev/null | awk 'NR == 1 {print $1}'
}

# mounts at or below a path (host mount namespace)
mounts_under() { awk -v p="$1" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo; }

remove_root() {
  local leaked
  leaked=$(mounts_under "$ROOT" | sort -r)
  if [ -n "$leaked" ]; then  # left by an old debootstrap killed mid-way: unmount before deleting
    echo "$leaked" | while read -r m; do umount -R "$m" 2>/dev/null || umount -l "$m" || true; done
    [ -z "$(mounts_under "$ROOT")" ] || die "cannot unmount $(mounts_under "$ROOT" | head -n1); not deleting $ROOT"
  fi
  rm -rf --one-file-system "$ROOT"
}

# enter [--net] [--home DIR] [--chdir DIR] [--bind DIR]... [--ro-bind DIR]... [--env N=V]... [--] CMD...
# Re-runs this script as `__inside` in new namespaces, which mounts and then execs chroot.
enter() {
  local net=0 args=()
  while [ $# -gt 0 ]; do
    case $1 in
      --net) net=1; shift ;;
      --home|--chdir|--env) args+=("$1" "$2"); shift 2 ;;
      --bind|--ro-bind) [ -d "$2" ] || die "no such folder: $2"; args+=("$1" "$(realpath "$2")"); shift 2 ;;
      --) shift; break ;;
      -*) die "unknown run option $1" ;;
      *) break ;;
    esac
  done
  [ $# -gt 0 ] || die "run: no command given"
  local ns=(--mount --pid --ipc --fork --kill-child --propagation private)
  [ "$net" = 1 ] || ns+=(--net)
  exec unshare "${ns[@]}" "$SELF" __inside "${args[@]}" -- "$@"
}

# (in the new namespaces) mount /proc /dev /sys, a tmpfs /tmp and the binds, then chroot
inside() {
  local home=/tmp/home chdir=/tmp envs=() dir
  mount -t proc proc "$ROOT/proc"
  mount --rbind /dev "$ROOT/dev"
  mount --rbind /sys "$ROOT/sys"
  mount -t tmpfs -o mode=1777 tmpfs "$ROOT/tmp"
  while [ $# -gt 0 ]; do
    case $1 in
      --home) home=$2; shift 2 ;;
      --chdir) chdir=$2; shift 2 ;;
      --env) envs+=("$2"); shift 2 ;;
      --bind|--ro-bind)
        dir=$2; mkdir -p "$ROOT$dir"; mount --bind "$dir" "$ROOT$dir"
        [ "$1" = --bind ] || mount -o remount,bind,ro "$ROOT$dir"
        shift 2 ;;
      --) shift; break ;;
      *) die "internal: bad option $1" ;;
    esac
  done
  ip link set lo up 2>/dev/null || true
  [ -e "$ROOT/etc/mtab" ] || ln -s ../proc/self/mounts "$ROOT/etc/mtab"  # Blender lists mounts
  mkdir -p "$ROOT$home" "$ROOT$chdir"
  exec chroot "$ROOT" /usr/bin/env -i -C "$chdir" HOME="$home" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb \
    TMPDIR=/tmp DEBIAN_FRONTEND=noninteractive "${envs[@]}" "$@"
}

build() {
  need_root
  local stamp="$ROOT/$STAMP_NAME"
  mkdir -p "$(dirname "$ROOT")"
  exec 9>"$ROOT.lock"
  flock 9
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PACKAGES" ]; then echo "$ROOT"; return; fi
  if [ -f "$stamp" ]; then  # finished root, package list changed: add what is missing
    echo "blender_root.sh: installing $PACKAGES into $ROOT" >&2
    ( enter --net -- apt-get update -q ) >&2 || die "apt-get update in the root failed"
    ( enter --net -- apt-get install -y -q --no-install-recommends $PACKAGES ) >&2 \
      || die "apt-get install $PACKAGES in the root failed"
    echo "$PACKAGES" > "$stamp"; echo "$ROOT"; return
  fi
  if [ -e "$ROOT" ]; then
    echo "blender_root.sh: $ROOT is half-made (no stamp); removing it" >&2
    remove_root
  fi
  if ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || die "debootstrap is missing and there is no apt-get to install it"
    echo "blender_root.sh: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; } \
      || die "cannot install debootstrap"
  fi
  local mirror
  mirror=$(find_mirror || true)
  [ -n "$mirror" ] || die "no Debian archive in the apt sources (scripts/debian_mirror.sh); configure apt or set TALKCLIP_DEBIAN_MIRROR"
  echo "blender_root.sh: debootstrap $SUITE from $mirror into $ROOT" >&2
  # in a private mount namespace: the /proc and /sys debootstrap mounts cannot outlive it
  unshare --mount --propagation private debootstrap --variant=minbase "$SUITE" "$ROOT" "$mirror" >&2 \
    || { remove_root; die "debootstrap $SUITE $mirror failed"; }
  ( enter --net -- apt-get update -q ) >&2 || { remove_root; die "apt-get update in the root failed"; }
  ( enter --net -- apt-get install -y -q --no-install-recommends $PACKAGES ) >&2 \
    || { remove_root; die "apt-get install $PACKAGES in the root failed"; }
  ( enter -- apt-get clean ) >&2 || true
  ( enter -- blender --version ) >&2 || { remove_root; die "blender does not start in the root"; }
  echo "$PACKAGES" > "$stamp"
  echo "$ROOT"
}

case ${1:-build} in
  build) build ;;
  path) echo "$ROOT" ;;
  mirror) m=$(find_mirror || true); [ -n "$m" ] || die "no Debian archive URI in the apt sources"; echo "$m" ;;
  run)
    shift
    need_root
    [ -f "$ROOT/$STAMP_NAME" ] || die "no finished root at $ROOT; run scripts/blender_root.sh first"
    exec 9>"$ROOT.lock"
    flock -s 9  # a rebuild waits for running commands (and the other way round)
    enter "$@" ;;
  __inside) shift; inside "$@" ;;
  -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command $1 (build, path, mirror, run)" ;;
esac
