# Shared by the image and package tests (sourced): result counting, the root check, podman's
# settings for this kind of machine, and HTTP requests into a container's network namespace.

# ctest's SKIP_RETURN_CODE for these tests (tests/image/CMakeLists.txt).
skip_code=77
passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
# summary NAME: the closing line, and the exit status.
summary() {
  echo "$1: $passed passed, $failed failed"
  ((failed == 0))
}

# Debootstrap, chroot, podman and nsenter need root. Without it the test is skipped (a developer's
# unprivileged run); CI runs as root, where a missing tool is a failure, not a skip.
need_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: $1 needs root (debootstrap, podman, chroot)"
    exit "$skip_code"
  fi
}

need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found; run scripts/install-deps.sh --test"; exit 1; }
  done
}

# podman on this kind of machine: runc (crun fails on hybrid cgroups) and no default ulimits
# (raising them is refused), from our containers.conf rather than the machine's /etc.
use_podman() {
  export CONTAINERS_CONF="$image_tests_dir/containers.conf"
  need_tools podman runc nsenter curl
}

# netns_of CONTAINER: the path of the container's network namespace, for nsenter.
netns_of() {
  local pid
  pid=$(podman inspect --format '{{.State.Pid}}' "$1") || return 1
  [[ "$pid" -gt 0 ]] || return 1
  echo "/proc/$pid/ns/net"
}

# http_in NETNS URL [curl options...]: a GET from inside the namespace (its loopback), bounded.
# Prints the body; the exit status is curl's (-f: an HTTP error fails).
http_in() {
  local netns=$1 url=$2
  shift 2
  nsenter --net="$netns" curl -fsS --max-time 5 "$@" "$url"
}

# wait_http NETNS URL SECONDS: until the URL answers 2xx, or the deadline passes.
wait_http() {
  local netns=$1 url=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    http_in "$netns" "$url" -o /dev/null 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

# dockerfile_release SOURCE_DIR: the Debian release the Dockerfile builds on by default (its
# `ARG DEBIAN_RELEASE=...`): the base of the image that image.build makes and the sidecar pod's
# other containers.
dockerfile_release() {
  local release
  release=$(sed -n 's/^ARG DEBIAN_RELEASE=\([a-z]*\)$/\1/p' "$1/Dockerfile" | head -1)
  [[ -n "$release" ]] || { echo "FAIL: no 'ARG DEBIAN_RELEASE=...' default in $1/Dockerfile" >&2; return 1; }
  echo "$release"
}

# host_release: this machine's Debian release (VERSION_CODENAME), the one a package built here is for.
host_release() {
  (. /etc/os-release && echo "${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}")
}

image_tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
