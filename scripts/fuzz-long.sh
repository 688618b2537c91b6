#!/usr/bin/env bash
# Runs the fuzz suite of the readers of untrusted files (cogvideo-api, io.cogvideo.fuzz.ReaderFuzzTest; issue #18)
# in its long mode: every generated input is also mutated MUTATIONS times (default 10), which takes at least five
# minutes on a 2-core machine. CI runs the same properties in the short mode (about a minute) with the normal tests.
#
#   scripts/fuzz-long.sh                      # long mode, default settings
#   MUTATIONS=100 scripts/fuzz-long.sh         # longer
#
# Failing inputs are saved under cogvideo-api/target/fuzz-failures/; jqwik prints the seed to reproduce a failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${JAVA_HOME:-}" ] && [ -d /usr/lib/jvm/temurin-25-jdk-amd64 ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
cd "$here"
start=$(date +%s)
mvn -B -ntp ${MVN_OFFLINE:+-o} -pl cogvideo-api test -Dtest=ReaderFuzzTest -Dsurefire.failIfNoSpecifiedTests=false \
    -Dcogvideo.fuzz.long=true -Dcogvideo.fuzz.mutations="${MUTATIONS:-10}" "$@"
echo "fuzz-long: $(( $(date +%s) - start )) s"
