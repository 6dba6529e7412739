#!/usr/bin/env bash
# Regenerates expected.json from cases.json with the real Kafka Connect 4.3.1
# jars (deploy/local/kafka.sh installs them on first use).
#
#   crates/ferry-transforms/golden/generate.sh
#
# The golden files are produced on Java 17 (Float.toString / Double.toString
# changed in Java 19, see crates/ferry-convert/golden/README.md); set JAVA to
# another java binary to try a different JDK, and FERRY_GOLDEN_ANY_JDK=1 to
# allow it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
KAFKA="$ROOT/deploy/local/kafka.sh"

"$KAFKA" install
CLASSPATH_GLOB=$("$KAFKA" classpath)

JAVA=${JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}
version=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
if [[ $version != 17 && -z ${FERRY_GOLDEN_ANY_JDK:-} ]]; then
  echo "generate.sh: $JAVA is Java $version; the golden files are made with Java 17" >&2
  echo "(set JAVA=/path/to/java17, or FERRY_GOLDEN_ANY_JDK=1 to proceed anyway)" >&2
  exit 1
fi

# UTC and English: TimestampConverter, TimestampRouter and Cast format dates
# with the JVM's time zone and locale in places, and Connect workers usually
# run in UTC. The log level keeps Connect's INFO lines (plugin scanning,
# AppInfoParser) off the terminal.
"$JAVA" -Duser.timezone=UTC -Duser.language=en -Duser.country=US -Dlog4j2.level=WARN \
  -cp "$CLASSPATH_GLOB" "$HERE/Generator.java" "$HERE"
echo "wrote $HERE/expected.json" >&2
