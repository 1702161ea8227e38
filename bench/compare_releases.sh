#!/usr/bin/env bash
# CPU per STARTTLS session of the same exporter code on each Debian release it supports: builds
# the Dockerfile's runtime image for each (--build-arg DEBIAN_RELEASE=..., the base made by
# tests/image/debian_root.sh; podman's layer cache keeps the dependency layers), starts one
# postfix on the host's loopback (bench/starttls_peer.sh), and runs each image in a container on
# the host's network against it, the releases alternating, for several rounds (driver:
# bench/compare_releases.py). Both exporters are containers, the peer and its OpenSSL are the
# same for both; what differs is the release the exporter was built on and runs on (compiler,
# OpenSSL, Boost, glibc). Needs root (postfix, podman). Figures only; asserts nothing. See
# bench/README.md, "compare_releases.sh".
#
#   bench/compare_releases.sh [--rounds 5] [--rate 50] [--seconds 20] [--releases "bookworm trixie"]
#                             [--no-build]   (--no-build: use the images as they are)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=5 rate=50 seconds=20 releases="bookworm trixie" build=1
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --releases) releases=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: $0 [--rounds N] [--rate N] [--seconds S] [--releases 'bookworm trixie'] [--no-build]" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "compare_releases.sh: needs root (postfix, podman)" >&2; exit 2; }
# podman's settings for this kind of machine (runc, no default ulimits): the image tests' own.
export CONTAINERS_CONF=$root/tests/image/containers.conf

revision=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
image_args=()
for release in $releases; do
  image=localhost/smtp_exporter-release:$release
  if ((build)); then
    "$root/tests/image/debian_root.sh" "$release" --image default >/dev/null
    start=$SECONDS
    log=/tmp/compare_releases-build-$release.log
    if ! nice podman build --isolation chroot --build-arg "DEBIAN_RELEASE=$release" \
        --build-arg "REVISION=$revision" -t "$image" -f "$root/Dockerfile" "$root" >"$log" 2>&1; then
      tail -30 "$log"
      echo "compare_releases.sh: podman build for $release failed (log: $log)" >&2
      exit 1
    fi
    echo "$image built in $((SECONDS - start)) s (revision $revision)"
  fi
  podman image exists "$image" || { echo "no image $image (run without --no-build)" >&2; exit 1; }
  image_args+=(--image "$release=$image")
done

source "$root/bench/starttls_peer.sh"
work=$(mktemp -d /tmp/compare_releases.XXXXXX)
chmod 755 "$work"  # postfix, and the exporter's uid 65532 in the containers, read from it
cleanup() {
  stop_starttls_peer "$work"
  rm -rf "$work"
}
trap cleanup EXIT
start_starttls_peer "$work"

/usr/bin/python3 "$root/bench/compare_releases.py" --rate "$rate" --seconds "$seconds" \
  --rounds "$rounds" "${image_args[@]}" --port "$peer_port" --pki "$peer_pki" --work "$work"
