#!/usr/bin/env bash
# Packs cogvideo-backend-cuda/target/device-bundle.tar.xz for a GPU machine that has neither a JDK nor network access:
# a jlinked Java runtime, this module's classes and test classes, the api test kit and golden data, every jar they
# need, and two launchers.
#
#   cogvideo-backend-cuda/scripts/device-bundle.sh      # here (needs JDK 25, Maven, network once for the launcher jar)
#   tar xJf device-bundle.tar.xz -C /tmp                # there, then:
#   /tmp/device-bundle/run-tests.sh [JUnit console options]   # all cuda test classes, GPU suites included
#   /tmp/device-bundle/run-bench.sh [layers hidden heads]     # CudaBench
#
# The archive is well under the device tool's 64 MiB carry limit (it prints its size).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
target="$root/cogvideo-backend-cuda/target"
out="$target/device-bundle"
rm -rf "$out" "$target/device-bundle.tar.xz"
mkdir -p "$out/lib"

mvn -q -pl cogvideo-api,cogvideo-backend-cuda -am package -DskipTests \
    dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$out/lib"
mvn -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 \
    -DoutputDirectory="$out/lib"
# project classes as directories; the api test kit without its golden data (shipped once, below); no byte-buddy
# (only AssertJ's soft assertions need it, and these tests use none)
rm -f "$out"/lib/cogvideo-backend-cuda-*.jar "$out"/lib/cogvideo-api-*-tests.jar "$out"/lib/byte-buddy-*.jar
cp -r cogvideo-backend-cuda/target/classes "$out/classes"
cp -r cogvideo-backend-cuda/target/test-classes "$out/test-classes"
cp -r cogvideo-api/target/test-classes "$out/api-test-classes"
rm -rf "$out/api-test-classes/golden"
mkdir -p "$out/golden" && cp -r cogvideo-api/src/test/resources/golden/cogvideo-tiny-a "$out/golden/"
mkdir -p "$out/cuda-src/main" "$out/cuda-src/test"
cp cogvideo-backend-cuda/src/main/cuda/* "$out/cuda-src/main/"
cp cogvideo-backend-cuda/src/test/cuda/* "$out/cuda-src/test/"

"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.sql,java.management,jdk.unsupported \
    --strip-native-debug-symbols=exclude-debuginfo-files --strip-java-debug-attributes \
    --no-man-pages --no-header-files --compress=zip-9 --output "$out/jdk"

cat > "$out/env.sh" <<'EOS'
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cp="$here/test-classes:$here/classes:$here/api-test-classes"
for j in "$here"/lib/*.jar; do
    case "$j" in *junit-platform-console-standalone*) ;; *) cp="$cp:$j" ;; esac
done
props=(-Dcogvideo.golden="$here/golden/cogvideo-tiny-a" -Dcogvideo.cuda.kernelsBuilt=true
       -Dcogvideo.cuda.sourceDir="$here/cuda-src/main" -Dcogvideo.cuda.testSourceDir="$here/cuda-src/test"
       -Dcogvideo.cuda.nvcc="${NVCC:-/usr/local/cuda/bin/nvcc}"
       -Dcogvideo.cuda.scratch=/tmp/cogvideo-cuda-test -Dorg.slf4j.simpleLogger.defaultLogLevel=warn)
EOS
cat > "$out/run-tests.sh" <<'EOS'
#!/usr/bin/env bash
# All cuda test classes, or JUnit console options (e.g. --select-class io.cogvideo.backend.cuda.CudaOpsGpuTest).
source "$(dirname "$0")/env.sh"
args=("$@"); [ ${#args[@]} -eq 0 ] && args=(--select-package io.cogvideo.backend.cuda)
exec "$here/jdk/bin/java" -Xmx8g --enable-native-access=ALL-UNNAMED "${props[@]}" \
    -jar "$(ls "$here"/lib/junit-platform-console-standalone-*.jar)" execute --class-path "$cp" \
    --details=tree --disable-banner "${args[@]}"
EOS
cat > "$out/run-bench.sh" <<'EOS'
#!/usr/bin/env bash
# CudaBench [layers hidden heads]; -D options go in BENCH_OPTS, e.g. BENCH_OPTS="-Dbench.steps=50".
source "$(dirname "$0")/env.sh"
exec "$here/jdk/bin/java" -Xmx8g --enable-native-access=ALL-UNNAMED "${props[@]}" ${BENCH_OPTS:-} -cp "$cp" \
    io.cogvideo.backend.cuda.CudaBench "$@"
EOS
chmod +x "$out"/*.sh
tar -C "$target" -cJf "$target/device-bundle.tar.xz" device-bundle
du -sh "$out" "$target/device-bundle.tar.xz"
