#!/usr/bin/env bash
# ctest image.build (the fixture of image.run and image.sidecar): builds the repository's
# Dockerfile as it is, with podman and no registry. The base image (debian:bookworm-slim, the
# Dockerfile's FROM) is made by debian_root.sh from Debian's mirror and cached on the machine;
# podman's layer cache keeps the build stage's dependency layer between runs, so a warm run
# recompiles the sources only.
#
# Usage: build_image.sh SOURCE_DIR IMAGE   (work files in $IMAGE_TEST_WORK_DIR, default ./image-work)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root image.build
use_podman
need_tools debootstrap git

source_dir=$(cd "${1:?usage: build_image.sh SOURCE_DIR IMAGE}" && pwd)
image=${2:?usage: build_image.sh SOURCE_DIR IMAGE}
work=${IMAGE_TEST_WORK_DIR:-$PWD/image-work}
mkdir -p "$work"

start=$SECONDS
"$image_tests_dir/debian_root.sh" bookworm --image default >/dev/null
echo "base image ready in $((SECONDS - start)) s"

# .git is not in the build context (.dockerignore): the revision comes in as a build argument.
revision=$(git -C "$source_dir" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
echo "$revision" >"$work/revision"

# The build stage gets a tag of its own, so that this run's replaces the last one's and the
# replaced images can be removed by ID, leaving the cached dependency layer (and nobody else's
# images) alone.
build_stage="$image-build-stage"
old_ids=$(podman image inspect --format '{{.Id}}' "$image" "$build_stage" 2>/dev/null || true)

start=$SECONDS
build() {  # build LOG ARGS...: podman build of the Dockerfile; the log goes to LOG
  local log=$1
  shift
  if ! nice podman build --isolation chroot --build-arg "REVISION=$revision" \
      -f "$source_dir/Dockerfile" "$@" "$source_dir" >"$log" 2>&1; then
    tail -40 "$log"
    fail "podman build $* (log: $log)"
    summary image.build
    exit 1
  fi
}
build "$work/build-stage.log" --target build -t "$build_stage"
build "$work/build.log" -t "$image"
ok "podman build --isolation chroot of Dockerfile in $((SECONDS - start)) s: $image (revision $revision)"

new_ids=$(podman image inspect --format '{{.Id}}' "$image" "$build_stage")
for id in $old_ids; do
  grep -qx "$id" <<<"$new_ids" || podman rmi "$id" >/dev/null 2>&1 || true
done

size=$(podman image inspect --format '{{.Size}}' "$image")
base_size=$(podman image inspect --format '{{.Size}}' docker.io/library/debian:bookworm-slim)
echo "image size: $((size / 1000000)) MB ($size bytes; the base image: $((base_size / 1000000)) MB)"
summary image.build
