#!/usr/bin/env bash
# Builds and runs the consumer against weft both ways:
#   1. cmake --install into a temporary prefix, then find_package(weft)
#   2. add_subdirectory(weft)
# usage: check.sh WEFT_SOURCE_DIR CXX_COMPILER
set -euo pipefail
src="$1"; cxx="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gen=(-G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release)

cmake -S "$src" -B "$work/weft" "${gen[@]}" -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF -DWEFT_BUILD_BENCH=OFF >/dev/null
cmake --build "$work/weft" >/dev/null
cmake --install "$work/weft" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/install/consumer" -B "$work/c1" "${gen[@]}" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/c1" >/dev/null
"$work/c1/consumer"

cmake -S "$src/tests/install/consumer" -B "$work/c2" "${gen[@]}" -DWEFT_MODE=add_subdirectory -DWEFT_SOURCE_DIR="$src" >/dev/null
cmake --build "$work/c2" >/dev/null
"$work/c2/consumer"
echo "install check passed: find_package and add_subdirectory"
