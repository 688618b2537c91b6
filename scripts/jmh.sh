#!/usr/bin/env bash
# Runs the CPU backend's JMH kernel benchmarks (cogvideo-backend-cpu/src/test/java/.../KernelBenchmarks.java).
# Extra arguments go to JMH, e.g.: scripts/jmh.sh -p shape=512x1536 'gemv.*'
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${JAVA_HOME:-}" ] && [ -d /usr/lib/jvm/temurin-25-jdk-amd64 ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
cd "$here"
mvn -q -B -pl cogvideo-backend-cpu -am -DskipTests install >&2
mvn -q -B -pl cogvideo-backend-cpu test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/jmh.classpath >&2
cp="cogvideo-backend-cpu/target/test-classes:cogvideo-backend-cpu/target/classes:$(cat cogvideo-backend-cpu/target/jmh.classpath)"
exec "$java" -cp "$cp" org.openjdk.jmh.Main KernelBenchmarks "$@"
