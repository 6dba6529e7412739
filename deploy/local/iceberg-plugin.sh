#!/usr/bin/env bash
# Assembles Apache Iceberg's Kafka Connect sink (IcebergSinkConnector) as a
# plugin directory for Apache Kafka Connect from Maven Central jars, once,
# and prints the directory to put on a worker's plugin.path. Iceberg
# publishes no plugin archive on Maven Central (its "runtime" zip is built by
# Gradle only), so this resolves a generated pom with copy-dependencies.
#
#   iceberg-plugin.sh [ICEBERG_VERSION]      default 1.12.0
#
# The directory holds iceberg-kafka-connect (+ its -events and -transforms),
# iceberg-core/-data/-parquet, parquet-hadoop, iceberg-aws with
# iceberg-aws-bundle (AWS SDK v2, for S3FileIO), the shaded Hadoop client
# (hadoop-client-api + hadoop-client-runtime: Configuration and the codec
# classes Parquet needs, its third-party code relocated so nothing clashes)
# and the PostgreSQL JDBC driver (for the JDBC catalog). Jars the worker
# already provides or that would clash with its logging (org.apache.kafka,
# slf4j, log4j, logback, reload4j) are left out. About 160 MB, 51 jars (the
# bundle, 67 MB, and the Hadoop client, 49 MB, are most of it).
#
# Put the printed directory on plugin.path (its lib/ is the plugin), or its
# parent, the plugins cache, which holds every plugin these scripts fetch.
# Tried with Apache Kafka Connect 4.3.1 on Java 17 (deploy/local/connect.sh).
#
# Idempotent: a plugin already assembled is reused without touching the
# network. Environment: FERRY_CACHE (default ~/.cache/ferry), FERRY_MAVEN_REPO.
set -euo pipefail

VERSION=${1:-1.12.0}
HADOOP_VERSION=3.4.2
POSTGRESQL_VERSION=42.7.14

CACHE=${FERRY_CACHE:-$HOME/.cache/ferry}
M2=${FERRY_MAVEN_REPO:-$CACHE/maven-repo}
DEST="$CACHE/plugins/iceberg-kafka-connect-$VERSION"

say() { printf 'iceberg-plugin: %s\n' "$*" >&2; }
die() { printf 'iceberg-plugin: error: %s\n' "$*" >&2; exit 1; }

[[ $VERSION =~ ^[0-9][0-9A-Za-z.-]*$ ]] || die "usage: iceberg-plugin.sh [ICEBERG_VERSION]"
if [[ -f $DEST/.assembled ]]; then
  echo "$DEST"
  exit 0
fi
command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
mkdir -p "$CACHE/plugins"
exec 9>"$CACHE/plugins/.lock"
flock -w 900 9 || die "another plugin script holds $CACHE/plugins/.lock"
if [[ -f $DEST/.assembled ]]; then
  echo "$DEST"
  exit 0
fi

mvn_q() {
  # Debian's Maven writes stray ANSI resets to stdout even in batch mode: the
  # output goes to a log, shown only on failure.
  mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$M2" "$@" </dev/null
}

t0=$SECONDS
tmp="$DEST.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
log="$tmp/mvn.log"

# parquet-hadoop is an optional dependency of iceberg-parquet: take the
# version this Iceberg release was built against from its pom.
say "resolving Iceberg $VERSION from Maven Central (one time)"
mvn_q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get \
  -Dartifact="org.apache.iceberg:iceberg-parquet:$VERSION:pom" -Dtransitive=false >"$log" 2>&1 \
  || { tail -n 20 "$log" >&2; die "cannot fetch org.apache.iceberg:iceberg-parquet:$VERSION (pom)"; }
ppom="$M2/org/apache/iceberg/iceberg-parquet/$VERSION/iceberg-parquet-$VERSION.pom"
PARQUET_VERSION=$(awk '/<artifactId>parquet-hadoop<\/artifactId>/ { f = 1 }
  f && /<version>/ { gsub(/.*<version>|<\/version>.*/, ""); print; exit }' "$ppom")
[[ -n $PARQUET_VERSION ]] || die "no parquet-hadoop version in $ppom"

dep() { printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' "$@"; }
{
  cat <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.ferry.local</groupId>
  <artifactId>iceberg-kafka-connect-plugin</artifactId>
  <version>$VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
EOF
  dep org.apache.iceberg iceberg-kafka-connect "$VERSION"
  dep org.apache.iceberg iceberg-kafka-connect-transforms "$VERSION"
  dep org.apache.iceberg iceberg-parquet "$VERSION"
  dep org.apache.parquet parquet-hadoop "$PARQUET_VERSION"
  dep org.apache.iceberg iceberg-aws "$VERSION"
  dep org.apache.iceberg iceberg-aws-bundle "$VERSION"
  dep org.apache.hadoop hadoop-client-api "$HADOOP_VERSION"
  dep org.apache.hadoop hadoop-client-runtime "$HADOOP_VERSION"
  dep org.postgresql postgresql "$POSTGRESQL_VERSION"
  cat <<EOF
  </dependencies>
</project>
EOF
} >"$tmp/pom.xml"

mkdir -p "$tmp/lib"
mvn_q -f "$tmp/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp/lib" \
  -DexcludeGroupIds=org.apache.kafka,org.slf4j,org.apache.logging.log4j,log4j,ch.qos.logback,ch.qos.reload4j \
  >>"$log" 2>&1 \
  || { tail -n 30 "$log" >&2; die "mvn copy-dependencies failed; full output in $log"; }

for j in "iceberg-kafka-connect-$VERSION" "iceberg-core-$VERSION" "iceberg-data-$VERSION" \
         "iceberg-parquet-$VERSION" "iceberg-aws-$VERSION" "iceberg-aws-bundle-$VERSION" \
         "parquet-hadoop-$PARQUET_VERSION" hadoop-client-api- hadoop-client-runtime- postgresql- snappy-java-; do
  compgen -G "$tmp/lib/$j*.jar" >/dev/null || die "resolved jars lack $j*.jar"
done
for j in kafka-clients- connect-api- slf4j- log4j-; do
  if compgen -G "$tmp/lib/$j*.jar" >/dev/null; then die "resolved jars include $j*.jar, which the worker provides"; fi
done

rm -f "$log"
rm -rf "$DEST"
mv "$tmp" "$DEST"
touch "$DEST/.assembled"
say "assembled $(find "$DEST/lib" -name '*.jar' | wc -l) jars ($(du -sh "$DEST" | cut -f1)) in $((SECONDS - t0)) s"
echo "$DEST"
