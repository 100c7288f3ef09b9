#!/usr/bin/env bash
# Print "URI SUITE" of the Debian archive this machine's apt is configured for (the first
# main-archive entry of /etc/apt/sources.list and /etc/apt/sources.list.d/*.list|*.sources: a URI
# whose path ends in /debian, or snapshot's /archive/debian/<time>; security, -updates and
# third-party sources are skipped), so set-up uses the machine's own mirror instead of
# a host written into the repository. Exits 1 with one line when none is configured.
set -euo pipefail
files=()
[ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && files+=("$f")
done
found=$(
  for f in "${files[@]}"; do
    case "$f" in
      *.sources)  # deb822 stanzas: URIs / Suites / Types
        awk 'BEGIN{RS=""; FS="\n"}
             { uri=""; suite=""; deb=0
               for (i=1;i<=NF;i++) {
                 if ($i ~ /^Types:.*(^|[ \t])deb([ \t]|$)/) deb=1
                 if ($i ~ /^URIs:/) { split(substr($i,6), u, " "); uri=u[1] }
                 if ($i ~ /^Suites:/) { split(substr($i,8), s, " "); suite=s[1] }
               }
               if (deb && uri != "" && suite != "") print uri, suite }' "$f" ;;
      *)  # one-line format: deb [options] URI SUITE COMPONENTS...
        awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while (i<=NF && $i !~ /\]$/) i++; i++ } print $i, $(i+1) }' "$f" ;;
    esac
  done | awk '$1 ~ /^https?:\/\/.*\/debian(\/[0-9TZ]+)?\/?$/ && $2 !~ /-/ { print; exit }'
)
if [ -z "$found" ]; then
  echo "debian_mirror.sh: no Debian archive found in /etc/apt/sources.list(.d); configure apt first" >&2
  exit 1
fi
echo "$found"
