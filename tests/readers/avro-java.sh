#!/usr/bin/env bash
# Reads Avro container files with Apache Avro's Java library (1.12.2 from
# Maven Central, resolved once into ~/.cache/ferry): one JSON line per
# file with its codec, its header's schema, that schema as Avro re-writes
# it, and its records as GenericData prints them.
#
#   tests/readers/avro-java.sh FILE...
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${FERRY_CACHE:-$HOME/.cache/ferry}
LIB=$CACHE/avro-java/lib
M2=${FERRY_MAVEN_REPO:-$CACHE/maven-repo}
mkdir -p "$CACHE/avro-java"
exec 9>"$CACHE/avro-java/.lock"
flock -w 600 9
want=$(sha256sum "$HERE/avro/pom.xml" | cut -d' ' -f1)
if [[ ! -d $LIB || "$(cat "$CACHE/avro-java/.pom.sha256" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$LIB"
  mvn -B -q -Dstyle.color=never -f "$HERE/avro/pom.xml" -Dmaven.repo.local="$M2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIB" </dev/null >"$CACHE/avro-java/install.log" 2>&1 \
    || { tail -n 30 "$CACHE/avro-java/install.log" >&2; exit 1; }
  echo "$want" >"$CACHE/avro-java/.pom.sha256"
fi
exec 9>&-
exec java -cp "$LIB/*" "$HERE/avro/ReadAvro.java" "$@"
