#!/usr/bin/env bash
# ctest image.RELEASE.unit (image.trixie.unit): the project built, and its unit tests run, on a
# Debian release other than the CI machine's, in a container of that release made like the image
# tests' base (debian_root.sh: debootstrap from Debian's mirror, cached on the machine):
#   1. the builder image: the base plus scripts/install-deps.sh --unit and ccache
#      (builder.Containerfile; podman's layer cache keeps it until install-deps.sh changes);
#   2. in a container of it (no network; the sources read-only at /src; the build directory in
#      the work dir; ccache's directory kept in the machine's cache beside the Debian root, so a
#      clean clone's run compiles little): configure, build smtp_exporter and unit_tests
#      (nice, -j2), run unit_tests; every unit test passes;
#   3. there, `smtp_exporter --version` runs, and the Dockerfile's runtime stage lists, for that
#      release, the packages of every library the binary links (runtime_packages.sh).
#
# Usage: release_unit_test.sh RELEASE SOURCE_DIR   (work files in $IMAGE_TEST_WORK_DIR/unit-RELEASE)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root "image.${1:-RELEASE}.unit"
use_podman
need_tools debootstrap

release=${1:?usage: release_unit_test.sh RELEASE SOURCE_DIR}
source_dir=$(cd "${2:?usage: release_unit_test.sh RELEASE SOURCE_DIR}" && pwd)
work=${IMAGE_TEST_WORK_DIR:-$PWD/image-work}/unit-$release
mkdir -p "$work/build"
ccache_dir=${SMTP_EXPORTER_CI_CACHE:-/var/cache/smtp_exporter-ci}/$release/ccache
mkdir -p "$ccache_dir"
builder=localhost/smtp_exporter-builder:$release

start=$SECONDS
"$image_tests_dir/debian_root.sh" "$release" --image default >/dev/null
echo "base image debian:$release-slim ready in $((SECONDS - start)) s"

# 1. The builder image. The image this build replaces (an older install-deps.sh) is removed by ID.
start=$SECONDS
old_id=$(podman image inspect --format '{{.Id}}' "$builder" 2>/dev/null || true)
if ! nice podman build --isolation chroot --build-arg "DEBIAN_RELEASE=$release" -t "$builder" \
    -f "$image_tests_dir/builder.Containerfile" "$source_dir/scripts" >"$work/builder.log" 2>&1; then
  tail -30 "$work/builder.log"
  fail "the $release builder (install-deps.sh --unit on debian:$release-slim; log: $work/builder.log)"
  summary "image.$release.unit"
  exit 1
fi
new_id=$(podman image inspect --format '{{.Id}}' "$builder")
[[ -z "$old_id" || "$old_id" == "$new_id" ]] || podman rmi "$old_id" >/dev/null 2>&1 || true
ok "the $release builder image in $((SECONDS - start)) s ($(podman run --rm --network none "$builder" sh -c 'g++ --version | head -1'))"

# 2. Build and unit tests, in the builder, with no network: the unit tests use loopback only.
revision=$(git -C "$source_dir" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
start=$SECONDS
set +e
nice podman run --rm --network none \
  -v "$source_dir:/src:ro" -v "$work/build:/build" -v "$ccache_dir:/ccache" \
  -e CCACHE_DIR=/ccache -e CCACHE_MAXSIZE=2G \
  "$builder" bash -c '
    set -e
    cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
      -DSMTP_EXPORTER_BUILD_TESTS=ON -DSMTP_EXPORTER_BUILD_BENCH=OFF -DSMTP_EXPORTER_REVISION='"$revision"'
    nice cmake --build /build -j2 --target smtp_exporter unit_tests
    ccache --show-stats | grep -Ei "^ *(hits|misses|cacheable|direct|preprocessed)" || true' >"$work/build.log" 2>&1
rc=$?
set -e
if ((rc != 0)); then
  grep -E "error|Error" "$work/build.log" | head -20
  tail -20 "$work/build.log"
  fail "configure and build on $release (log: $work/build.log)"
  summary "image.$release.unit"
  exit 1
fi
warnings=$(grep -c "warning:" "$work/build.log" || true)
ok "smtp_exporter and unit_tests built on $release in $((SECONDS - start)) s ($warnings compiler warnings; log: $work/build.log)"
grep -A3 "warning:" "$work/build.log" | head -30 || true

start=$SECONDS
set +e
podman run --rm --network none -v "$source_dir:/src:ro" -v "$work/build:/build:ro" "$builder" \
  /build/tests/unit_tests --gtest_brief=1 >"$work/unit_tests.log" 2>&1
rc=$?
set -e
result=$(grep -E '^\[  (PASSED|FAILED)  \]|^\[==========\] [0-9]+ tests' "$work/unit_tests.log" | tr '\n' ' ')
if ((rc == 0)) && grep -q '^\[  PASSED  \]' "$work/unit_tests.log"; then
  ok "unit_tests on $release in $((SECONDS - start)) s: $result"
else
  grep -E '^\[  FAILED  \]' "$work/unit_tests.log" | head -20
  fail "unit_tests on $release (exit $rc): $result (log: $work/unit_tests.log)"
fi

# 3. The binary there, and the Dockerfile's runtime list for this release.
if out=$(podman run --rm --network none -v "$source_dir:/src:ro" -v "$work/build:/build:ro" "$builder" \
    bash -c '/build/smtp_exporter --version && /src/tests/image/runtime_packages.sh /src/Dockerfile /build/smtp_exporter' 2>&1); then
  ok "on $release: $(tr '\n' ' ' <<<"$out")"
else
  fail "on $release: $(tr '\n' ' ' <<<"$out")"
fi
summary "image.$release.unit"
