# Shared by scripts/*: package checks and build helpers. Source it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${JOBS:-$(nproc)}"

# need_packages PKG...: installs the missing Debian packages when run as root,
# otherwise names them and exits.
need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "weft: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >&2 || { apt-get update -q >&2 && apt-get install -y -q "${missing[@]}" >&2; }
  else
    echo "weft: missing Debian packages: ${missing[*]}" >&2
    echo "weft: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
}

BASE_PACKAGES=(cmake ninja-build g++-12 libgtest-dev libhttp-parser-dev libgumbo-dev)
CLANG_PACKAGES=(clang-16 libclang-rt-16-dev)

# configure_build DIR COMPILER BUILD_TYPE [CMAKE ARGS...]
configure_build() {
  local dir="$1" cxx="$2" type="$3"
  shift 3
  cmake -S "$ROOT" -B "$ROOT/$dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE="$type" \
    -DWEFT_WERROR=ON "$@" >/dev/null
  cmake --build "$ROOT/$dir" -j "$JOBS"
}

# run_tests DIR: every test of that build, each under its own timeout.
run_tests() {
  (cd "$ROOT/$1" && ctest -j "$JOBS" --output-on-failure --no-tests=error)
}
