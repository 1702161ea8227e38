#!/usr/bin/env bash
# Does the Dockerfile's runtime stage install, for the Debian release this runs on, the packages
# that provide every shared library BINARY links directly (its NEEDED entries, mapped to packages
# with dpkg -S)? libc6, libgcc-s1 and libstdc++6 are in every base image; apt installs what the
# listed packages depend on. The stage names some packages per release (a `RELEASE) release_pkgs=`
# line of a case on VERSION_CODENAME): only this release's line counts, besides the common ones.
# Run where BINARY was built: on the host by tests/helm/run.sh (step 7), and inside the builder
# container of each other release by tests/image/release_unit_test.sh.
#
# Usage: runtime_packages.sh DOCKERFILE BINARY
# Prints one line: what was checked, or the packages missing; exit 0 (all there) or 1.
set -euo pipefail
dockerfile=${1:?usage: runtime_packages.sh DOCKERFILE BINARY}
binary=${2:?usage: runtime_packages.sh DOCKERFILE BINARY}
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

stage=$(sed -n '/^FROM .* AS runtime/,$p' "$dockerfile")
if ! grep -Eq "^[[:space:]]*$codename\) release_pkgs=" <<<"$stage"; then
  echo "the Dockerfile's runtime stage has no package list for Debian '$codename' (a '$codename) release_pkgs=...' line)"
  exit 1
fi
# The other releases' lines out; the words left are package names (and shell, which never
# matches a package).
runtime_pkgs=$(grep -Ev "^[[:space:]]*[a-z]+\) release_pkgs=" <<<"$stage" | tr -s ' \\\n"' ' ')
runtime_pkgs+=" $(grep -E "^[[:space:]]*$codename\) release_pkgs=" <<<"$stage" | sed 's/.*release_pkgs="\([^"]*\)".*/\1/')"

missing=() checked=0
while read -r lib; do
  pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) || true
  [[ -n "$pkg" ]] || pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1) || true
  checked=$((checked + 1))
  case "$pkg" in
    libc6 | libgcc-s1 | libstdc++6) ;;
    "") missing+=("$lib(no package)") ;;
    *) [[ " $runtime_pkgs " == *" $pkg "* ]] || missing+=("$pkg") ;;
  esac
done < <(needed=" $(objdump -p "$binary" | awk '/NEEDED/{print $2}' | tr '\n' ' ') "
         ldd "$binary" | awk -v needed="$needed" 'index(needed, " " $1 " ") && /=> \//{print $3}')
if ((${#missing[@]})); then
  echo "Dockerfile runtime stage lacks, on Debian $codename: ${missing[*]}"
  exit 1
fi
echo "Dockerfile runtime stage provides, on Debian $codename, every library $(basename "$binary") links ($checked)"
