#!/usr/bin/env bash
# ctest image.build (the fixture of image.run and image.sidecar): builds the repository's
# Dockerfile as it is, with podman and no registry. The base image (debian:RELEASE-slim, the
# Dockerfile's FROM with its default DEBIAN_RELEASE) is made by debian_root.sh from Debian's
# mirror and cached on the machine;
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
release=$(dockerfile_release "$source_dir")
"$image_tests_dir/debian_root.sh" "$release" --image default >/dev/null
echo "base image debian:$release-slim ready in $((SECONDS - start)) s"

# .git is not in the build context (.dockerignore): the revision comes in as a build argument.
revision=$(git -C "$source_dir" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
echo "$revision" >"$work/revision"

# Cache housekeeping: the build stage's last image is tagged (IMAGE-build-stage), so the layers it
# stands on (the dependency layer the next build reuses) are never dangling. The images this build
# replaced (the last run's image and build stage) are removed by ID; podman removes their parents
# with them up to the first one still in use, so nobody else's images are touched.
build_stage="$image-build-stage"
old_ids=$(podman image inspect --format '{{.Id}}' "$image" "$build_stage" 2>/dev/null || true)

start=$SECONDS
if ! nice podman build --isolation chroot --build-arg "REVISION=$revision" -t "$image" \
    -f "$source_dir/Dockerfile" "$source_dir" >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"
  fail "podman build of $source_dir/Dockerfile (log: $work/build.log)"
  summary image.build
  exit 1
fi
ok "podman build --isolation chroot of Dockerfile in $((SECONDS - start)) s: $image on Debian $release (revision $revision)"

# The build log names each step's image ("--> ID") under its stage ("[k/n] STEP ..."); the last
# one of the stage "AS build" is the build stage's image.
build_stage_id=$(awk '
  /^\[[0-9]+\/[0-9]+\] STEP / { split($1, part, /[][\/]/); stage = part[2]; if ($0 ~ / AS build$/) build = stage }
  /^--> [0-9a-f]+$/ { if (stage == build) id = $2 }
  END { print id }' "$work/build.log")
if [[ -n "$build_stage_id" ]] && podman tag "$build_stage_id" "$build_stage"; then
  new_ids=$(podman image inspect --format '{{.Id}}' "$image" "$build_stage")
  for id in $old_ids; do
    grep -qx "$id" <<<"$new_ids" || podman rmi "$id" >/dev/null 2>&1 || true
  done
else
  echo "note: the build stage's image was not found in $work/build.log; earlier images left in place"
fi

size=$(podman image inspect --format '{{.Size}}' "$image")
base_size=$(podman image inspect --format '{{.Size}}' "docker.io/library/debian:$release-slim")
echo "image size: $((size / 1000000)) MB ($size bytes; the base image: $((base_size / 1000000)) MB)"
summary image.build
