#!/usr/bin/env bash
# Fetches a Kafka Connect plugin published on Maven Central as a `plugin`
# tar.gz (Debezium's connectors are) once, unpacks it under the cache and
# prints the directory to put on a worker's plugin.path.
#
#   connect-plugin.sh GROUP:ARTIFACT:VERSION
#   e.g. connect-plugin.sh io.debezium:debezium-connector-jdbc:3.5.0.Final
#
# Idempotent: a plugin already unpacked is reused without touching the network.
set -euo pipefail

CACHE=${FERRY_CACHE:-$HOME/.cache/ferry}
M2=${FERRY_MAVEN_REPO:-$CACHE/maven-repo}

die() { printf 'connect-plugin: error: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 1 && $1 == *:*:* ]] || die "usage: connect-plugin.sh GROUP:ARTIFACT:VERSION"
IFS=: read -r group artifact version <<<"$1"
DEST="$CACHE/plugins/$artifact-$version"
if [[ -f $DEST/.unpacked ]]; then
  echo "$DEST"
  exit 0
fi
command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
mkdir -p "$CACHE/plugins"
exec 9>"$CACHE/plugins/.lock"
flock -w 300 9 || die "another connect-plugin.sh holds $CACHE/plugins/.lock"
if [[ ! -f $DEST/.unpacked ]]; then
  printf 'connect-plugin: fetching %s (plugin tar.gz) from Maven Central\n' "$1" >&2
  mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$M2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get \
    -Dartifact="$group:$artifact:$version:tar.gz:plugin" -Dtransitive=false </dev/null >&2 \
    || die "cannot fetch $1 (plugin tar.gz) from Maven Central"
  tarball="$M2/${group//.//}/$artifact/$version/$artifact-$version-plugin.tar.gz"
  [[ -f $tarball ]] || die "fetched, but $tarball is missing"
  rm -rf "$DEST.tmp"
  mkdir -p "$DEST.tmp"
  tar xzf "$tarball" -C "$DEST.tmp"
  rm -rf "$DEST"
  mv "$DEST.tmp" "$DEST"
  touch "$DEST/.unpacked"
fi
echo "$DEST"
