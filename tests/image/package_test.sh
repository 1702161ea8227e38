#!/usr/bin/env bash
# ctest package.deb: the Debian package, built and installed as an admin would.
#   1. `cpack -G DEB` in the build directory makes smtp-exporter_VERSION_ARCH.deb (packaging/
#      deb.cmake): its Depends computed by dpkg-shlibdeps, the config a conffile, the unit inside;
#   2. `apt-get install ./file.deb` in a Debian root of this machine's release (the package is
#      built here, so its computed Depends are this release's; debian_root.sh's cached root, under an
#      overlay so the cache stays clean; chroot with /proc and /dev mounted, always unmounted;
#      systemd installed first, as on a host that runs the unit) fetches the dependencies from
#      Debian's mirror and runs the postinst (system user);
#   3. there: `smtp_exporter --config.check` on the installed config passes, and
#      `systemd-analyze verify` passes on the installed unit;
#   4. `apt-get purge` removes the binary and the conffile and keeps the system user.
#
# Usage: package_test.sh BUILD_DIR VERSION   (work files in $PACKAGE_TEST_WORK_DIR, default ./package-work)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root package.deb
need_tools cpack dpkg-deb dpkg-shlibdeps file systemd-analyze chroot mount debootstrap

build_dir=$(cd "${1:?usage: package_test.sh BUILD_DIR VERSION}" && pwd)
version=${2:?usage: package_test.sh BUILD_DIR VERSION}
work=${PACKAGE_TEST_WORK_DIR:-$PWD/package-work}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# 1. The package.
start=$SECONDS
rm -rf "$work/cpack"
if ! cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/cpack" >"$work/cpack.log" 2>&1; then
  tail -30 "$work/cpack.log"
  fail "cpack -G DEB (log: $work/cpack.log)"
  summary package.deb
  exit 1
fi
arch=$(dpkg --print-architecture)
deb="$work/cpack/smtp-exporter_${version}_${arch}.deb"
if [[ -f "$deb" ]]; then
  ok "cpack -G DEB made $(basename "$deb") in $((SECONDS - start)) s: $(($(stat -c %s "$deb") / 1024)) KiB"
else
  fail "cpack made no $(basename "$deb"): $(ls "$work/cpack")"
  summary package.deb
  exit 1
fi
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# Computed, so the libraries the binary links are there with versions (dpkg-shlibdeps), beside
# the maintainer scripts' adduser.
if [[ "$depends" == *"libc6 (>="* && "$depends" == *"libssl3 (>="* && "$depends" == *adduser* ]]; then
  ok "Depends computed from the binary's libraries (libc6, libssl3, ... with versions) plus adduser"
else
  fail "Depends is not what dpkg-shlibdeps computes for the binary: $depends"
fi
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/smtp_exporter ./etc/smtp_exporter/smtp_exporter.toml ./usr/lib/systemd/system/smtp_exporter.service \
    ./usr/share/smtp_exporter/smtp_exporter.rules.yml; do
  grep -qx -- "$f" <<<"$contents" || fail "the package lacks $f"
done
if [[ "$(dpkg-deb -I "$deb" conffiles 2>&1)" == "/etc/smtp_exporter/smtp_exporter.toml" ]]; then
  ok "conffiles: /etc/smtp_exporter/smtp_exporter.toml"
else
  fail "conffiles should list /etc/smtp_exporter/smtp_exporter.toml: $(dpkg-deb -I "$deb" conffiles 2>&1)"
fi

# 2. Install it in a Debian root: an overlay over the cached root, thrown away afterwards.
release=$(host_release)
base=$("$image_tests_dir/debian_root.sh" "$release")
chroot_dir="$work/overlay/merged"
mounted=()
teardown() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null || true
  done
  mounted=()
  rm -rf "$work/overlay"
}
trap teardown EXIT
teardown
mkdir -p "$work/overlay/upper" "$work/overlay/work" "$chroot_dir"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/overlay/upper,workdir=$work/overlay/work" "$chroot_dir"
mounted+=("$chroot_dir")
mount -t proc proc "$chroot_dir/proc"
mounted+=("$chroot_dir/proc")
mount --bind /dev "$chroot_dir/dev"
mounted+=("$chroot_dir/dev")
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
cp "$deb" "$chroot_dir/tmp/"
in_root() { chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C "$@"; }

# The host the unit is for has systemd (minbase has none): its units (sysinit.target, ...) are what
# systemd-analyze verify checks the unit's dependencies against.
start=$SECONDS
if ! { in_root apt-get update -q && in_root apt-get install -y -q --no-install-recommends systemd; } >"$work/apt.log" 2>&1; then
  tail -30 "$work/apt.log"
  fail "apt-get install systemd in the $release root (log: $work/apt.log)"
  summary package.deb
  exit 1
fi
echo "systemd installed in the root in $((SECONDS - start)) s"
start=$SECONDS
if in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" >"$work/apt-deb.log" 2>&1; then
  ok "apt-get install ./$(basename "$deb") in a $release root ($((SECONDS - start)) s; $(grep -c '^Setting up' "$work/apt-deb.log") packages set up)"
else
  tail -30 "$work/apt-deb.log"
  fail "apt-get install of the package in the $release root (log: $work/apt-deb.log)"
  summary package.deb
  exit 1
fi

# 3. What the postinst made and what the package installed.
user=$(in_root getent passwd smtp_exporter || true)
IFS=: read -r _ _ uid _ _ home shell <<<"$user"
if [[ -n "$user" && "$uid" -lt 1000 && "$shell" == /usr/sbin/nologin && "$home" == /nonexistent ]]; then
  ok "postinst made the system user: $user"
else
  fail "no system user smtp_exporter (uid < 1000, /usr/sbin/nologin, /nonexistent): '$user'"
fi
if out=$(in_root /usr/bin/smtp_exporter --config.check --config.file=/etc/smtp_exporter/smtp_exporter.toml 2>&1); then
  ok "installed smtp_exporter --config.check: $out"
else
  fail "installed smtp_exporter --config.check: $out"
fi
unit="$chroot_dir/usr/lib/systemd/system/smtp_exporter.service"
if grep -q '^ExecStart=/usr/bin/smtp_exporter --config.file=/etc/smtp_exporter/smtp_exporter.toml ' "$unit"; then
  ok "the installed unit runs /usr/bin/smtp_exporter on /etc/smtp_exporter/smtp_exporter.toml"
else
  fail "the installed unit's ExecStart does not name the package's paths: $(grep '^ExecStart=' "$unit")"
fi
# systemd-analyze (the machine's systemd) reads the unit and the binary it names inside the root.
if msg=$(systemd-analyze verify --root="$chroot_dir" /usr/lib/systemd/system/smtp_exporter.service 2>&1) && [[ -z "$msg" ]]; then
  exposure=$(systemd-analyze security --offline=yes --root="$chroot_dir" /usr/lib/systemd/system/smtp_exporter.service 2>/dev/null | tail -1 || true)
  ok "systemd-analyze verify on the installed unit (${exposure#→ })"
else
  fail "systemd-analyze verify on the installed unit: $msg"
fi

# 4. Purge: the binary and the conffile go, the system user stays (as Debian does).
if in_root apt-get purge -y -q smtp-exporter >>"$work/apt-deb.log" 2>&1 \
    && [[ ! -e "$chroot_dir/usr/bin/smtp_exporter" && ! -e "$chroot_dir/etc/smtp_exporter/smtp_exporter.toml" ]] \
    && in_root getent passwd smtp_exporter >/dev/null; then
  ok "apt-get purge removes the binary and the config, keeps the system user"
else
  fail "apt-get purge: binary present=$([[ -e "$chroot_dir/usr/bin/smtp_exporter" ]] && echo yes || echo no), config present=$([[ -e "$chroot_dir/etc/smtp_exporter/smtp_exporter.toml" ]] && echo yes || echo no) (log: $work/apt-deb.log)"
fi

echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"
summary package.deb
