#!/usr/bin/env bash
# A Debian root file system for the image and package tests, made with debootstrap (minbase) from
# Debian's mirror and kept in a cache that survives between CI runs on the same machine: no
# container registry is reachable here, so this root is the base image (`debian:RELEASE-slim`,
# the Dockerfile's FROM) and the system the .deb is installed into.
#
# Usage: debian_root.sh RELEASE [--image NAME]
#   RELEASE   a Debian suite debootstrap knows (bookworm, trixie, ...)
#   --image   also make the podman image NAME from the root (default with --image=default:
#             docker.io/library/debian:RELEASE-slim); re-imported when the root was remade
# Prints the root's path on stdout (progress goes to stderr).
#
# Cache: $SMTP_EXPORTER_CI_CACHE (default /var/cache/smtp_exporter-ci)/RELEASE/{root,stamp}. The
# stamp is written last, so a root that debootstrap left half-made (a killed run, a full disk) has
# none and is made again; a lock serialises concurrent callers (two tests, two checkouts). Nothing
# else writes into the root: users copy it or mount an overlay over it.
set -euo pipefail

release=${1:-}
[[ "$release" =~ ^[a-z]+$ ]] || { echo "usage: debian_root.sh RELEASE [--image NAME|default]" >&2; exit 2; }
shift
image=""
while (($#)); do
  case "$1" in
    --image) image=${2:?--image needs a name}; shift 2 ;;
    --image=*) image=${1#--image=}; shift ;;
    *) echo "debian_root.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$image" == default ]] && image="docker.io/library/debian:$release-slim"
[[ $(id -u) -eq 0 ]] || { echo "debian_root.sh: needs root (debootstrap, podman import)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "debian_root.sh: debootstrap not found; run scripts/install-deps.sh --test" >&2; exit 1; }

cache=${SMTP_EXPORTER_CI_CACHE:-/var/cache/smtp_exporter-ci}/$release
root=$cache/root
stamp=$cache/stamp
mirror=${SMTP_EXPORTER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${SMTP_EXPORTER_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9

if [[ ! -s "$stamp" ]]; then
  echo "debian_root.sh: making the $release root in $root (debootstrap --variant=minbase)" >&2
  start=$(date +%s)
  # A mount left inside by a killed caller must not be deleted through.
  if grep -q " $root/" /proc/self/mounts; then
    echo "debian_root.sh: something is mounted under $root; unmount it first" >&2
    exit 1
  fi
  rm -rf "$root"
  # Keep debootstrap's log beside the cache for a failure's reader.
  if ! nice debootstrap --variant=minbase "$release" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
    tail -20 "$cache/debootstrap.log" >&2
    echo "debian_root.sh: debootstrap $release failed (log: $cache/debootstrap.log)" >&2
    exit 1
  fi
  # The sources of Debian's own images: the release, its updates and its security suite, so that
  # what is installed here is what a user's debian:RELEASE-slim gets.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $release-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # As in Debian's images: no package lists or downloaded .debs kept in the root.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  # Identifies this making of the root (the podman image carries it as a label).
  echo "$release $(date -u +%Y%m%dT%H%M%SZ) $(du -sm "$root" | cut -f1)MB $(($(date +%s) - start))s" >"$stamp.tmp"
  sync -f "$root" 2>/dev/null || true
  mv "$stamp.tmp" "$stamp"
  echo "debian_root.sh: made $(cat "$stamp")" >&2
fi

if [[ -n "$image" ]]; then
  command -v podman >/dev/null || { echo "debian_root.sh: podman not found; run scripts/install-deps.sh --test" >&2; exit 1; }
  made=$(cut -d' ' -f2 "$stamp")
  have=$(podman image inspect --format '{{index .Labels "org.smtp-exporter.debian-root"}}' "$image" 2>/dev/null || true)
  if [[ "$have" != "$made" ]]; then
    echo "debian_root.sh: importing $root as $image" >&2
    # An imported image has no PATH; the label ties it to this making of the root.
    tar -C "$root" --numeric-owner -c . | podman import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --change "LABEL org.smtp-exporter.debian-root=$made" \
      - "$image" >&2
  fi
fi
echo "$root"
