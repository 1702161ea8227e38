#!/usr/bin/env bash
# ctest image.run: runs the image image.build made, as a user would, and checks what the
# Dockerfile promises:
#   - every shared library the binary needs is in the image (ldd inside; a missing runtime
#     package is named by its library);
#   - `--version` reports the CMake project version and the revision built;
#   - `--config.check` passes on the bundled config (the entrypoint's --config.file);
#   - the process runs as uid/gid 65532, and /metrics and /-/ready answer on port 9465 through
#     the container's own network namespace (--network none: loopback only, nothing leaves);
#   - the runtime image holds no compiler, no build tool and no -dev package.
#
# Usage: image_test.sh IMAGE VERSION   (reads the revision image.build wrote to the work dir)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root image.run
use_podman

image=${1:?usage: image_test.sh IMAGE VERSION}
version=${2:?usage: image_test.sh IMAGE VERSION}
work=${IMAGE_TEST_WORK_DIR:-$PWD/image-work}
revision=$(cat "$work/revision" 2>/dev/null || echo unknown)
podman image exists "$image" || { fail "image $image does not exist (image.build failed?)"; summary image.run; exit 1; }

container=""
cleanup() { [[ -z "$container" ]] || podman rm -f "$container" >/dev/null 2>&1 || true; }
trap cleanup EXIT

run() { podman run --rm --network none "$@"; }

# 1. Shared libraries: what ldd cannot find is a runtime package the Dockerfile lacks.
if libs=$(run --entrypoint /usr/bin/ldd "$image" /usr/bin/smtp_exporter 2>&1); then
  missing=$(awk '/not found/{print $1}' <<<"$libs" | tr '\n' ' ')
  if [[ -z "$missing" ]]; then
    ok "every shared library of /usr/bin/smtp_exporter is in the image ($(grep -c '=>' <<<"$libs") resolved)"
  else
    fail "libraries missing from the image (a runtime package is missing from the Dockerfile): $missing"
  fi
else
  fail "ldd /usr/bin/smtp_exporter in the image: $libs"
fi

# 2. Version and revision.
if out=$(run "$image" --version 2>&1); then
  first=$(head -1 <<<"$out")
  if [[ "$first" == "smtp_exporter, version $version (revision: $revision)" ]]; then
    ok "--version: $first"
  else
    fail "--version says '$first', expected version $version and revision $revision"
  fi
else
  fail "--version exited non-zero: $out"
fi

# 3. The bundled config, through the entrypoint's --config.file.
if out=$(run "$image" --config.check 2>&1) && grep -q 'configuration is valid' <<<"$out"; then
  ok "--config.check on the bundled config: $out"
else
  fail "--config.check on the bundled config: $out"
fi

# 4. The running exporter: user, /metrics, /-/ready. No network but loopback: the bundled targets'
# names do not resolve, and nothing is sent anywhere.
container=$(podman run -d --network none "$image")
netns=$(netns_of "$container") || { fail "container $container is not running: $(podman logs "$container" 2>&1 | tail -5)"; summary image.run; exit 1; }
pid=$(podman inspect --format '{{.State.Pid}}' "$container")
ids=$(awk '/^Uid:/{u=$2} /^Gid:/{g=$2} END{print u":"g}' "/proc/$pid/status")
if [[ "$ids" == "65532:65532" ]]; then
  ok "the exporter process runs as uid:gid $ids"
else
  fail "the exporter process runs as uid:gid $ids, expected 65532:65532"
fi
if wait_http "$netns" http://127.0.0.1:9465/-/ready 20; then
  ok "/-/ready answers 200 on the container's 127.0.0.1:9465"
else
  fail "/-/ready did not answer within 20 s: $(podman logs "$container" 2>&1 | tail -5)"
fi
if metrics=$(http_in "$netns" http://127.0.0.1:9465/metrics) \
    && build_info=$(grep -m1 "^smtp_exporter_build_info{version=\"$version\",revision=\"$revision\"" <<<"$metrics"); then
  ok "/metrics answers: $build_info ($(grep -vc "^#" <<<"$metrics") samples)"
else
  fail "/metrics has no smtp_exporter_build_info for version $version, revision $revision: $(head -c 300 <<<"${metrics:-}")"
fi

# 5. No build tools in the runtime image: no -dev package, no compiler or linker package, and no
# compiler or linker on the PATH.
if packages=$(run --entrypoint dpkg-query "$image" -W -f '${Package}\n' 2>&1); then
  build_pkgs=$(grep -E -- '-dev$|^(gcc|g\+\+|cpp|clang|llvm|binutils|make|cmake|build-essential|libtool|autoconf|pkg-config|pkgconf)(-[0-9.]+)?$' <<<"$packages" | tr '\n' ' ' || true)
  if [[ -z "$build_pkgs" ]]; then
    ok "no -dev, compiler or build-tool package among the image's $(wc -l <<<"$packages") packages"
  else
    fail "the runtime image holds build packages: $build_pkgs"
  fi
else
  fail "dpkg-query in the image: $packages"
fi
tools=$(run --entrypoint /bin/sh "$image" -c 'for t in cc c++ gcc g++ clang ld as make cmake; do command -v "$t"; done' 2>&1 || true)
if [[ -z "$tools" ]]; then
  ok "no compiler, linker or make on the image's PATH"
else
  fail "the runtime image has build tools: $(tr '\n' ' ' <<<"$tools")"
fi

size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image size: $((size / 1000000)) MB ($size bytes)"
summary image.run
