#!/usr/bin/env bash
# tether's CMake package gives a function project tether_package_target(): an
# out-of-tree project with find_package(tether) gets a TARGET_zip target that
# runs the installed `tether package` (found next to the package config, here
# in a prefix moved after install). Checked: the zip holds an executable
# `bootstrap` at its root, OUTPUT names where it goes, a rebuilt function
# remakes it, and a failing `tether package` (ARGS it refuses) fails the build
# and leaves no zip. Only that much of the zip is checked: its layout beyond
# `bootstrap` is tether package's (docs/runtime.md), not the helper's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
stage=$TETHER_TEST_TMP/stage
prefix=$TETHER_TEST_TMP/prefix
cmake --install "$TETHER_BUILD" --prefix "$stage" >/dev/null || fail "cmake --install failed"
mv "$stage" "$prefix" # the package config must find bin/tether relative to itself
[ -x "$prefix/bin/tether" ] || fail "the tether executable is not installed in bin/"

# The function is plain C: what the helper does is independent of what the
# function links, and a bootstrap needing only an old glibc packages with
# every mode of tether package.
fn=$TETHER_TEST_TMP/fn
mkdir -p "$fn"
cat > "$fn/hello.c" <<'C'
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
C
cat > "$fn/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.20)
project(hello C)
find_package(tether 0.1 REQUIRED)
add_executable(hello hello.c)
tether_package_target(hello)
add_executable(other hello.c)
tether_package_target(other OUTPUT dist/other-function.zip)
add_executable(refused hello.c)
tether_package_target(refused ARGS --no-such-option)
C
cmake -S "$fn" -B "$fn/build" -DCMAKE_PREFIX_PATH="$prefix" >"$fn/cmake.log" 2>&1 ||
  { cat "$fn/cmake.log"; fail "the find_package(tether) project did not configure"; }

# the root of a zip holds an executable bootstrap (unzip -Z: permissions, ..., name)
has_bootstrap() {
  unzip -Z "$1" | awk '$NF == "bootstrap" && $1 ~ /^-..x/ { found = 1 } END { exit !found }'
}

(cd "$fn/build" && cmake --build . --target hello_zip) >"$fn/zip.log" 2>&1 ||
  { cat "$fn/zip.log"; fail "cmake --build . --target hello_zip failed"; }
[ -f "$fn/build/hello.zip" ] || fail "no build/hello.zip"
has_bootstrap "$fn/build/hello.zip" || { unzip -Z "$fn/build/hello.zip"; fail "hello.zip has no executable bootstrap at its root"; }

cmake --build "$fn/build" --target other_zip >"$fn/other.log" 2>&1 ||
  { cat "$fn/other.log"; fail "other_zip failed"; }
has_bootstrap "$fn/build/dist/other-function.zip" || fail "OUTPUT dist/other-function.zip: no bootstrap"

# a rebuilt function remakes its zip
before=$(sha256sum <"$fn/build/hello.zip")
sed -i 's/"hello"/"hello again"/' "$fn/hello.c"
cmake --build "$fn/build" --target hello_zip >"$fn/zip2.log" 2>&1 ||
  { cat "$fn/zip2.log"; fail "the second hello_zip failed"; }
[ "$(sha256sum <"$fn/build/hello.zip")" != "$before" ] || fail "hello.zip was not remade after hello changed"
has_bootstrap "$fn/build/hello.zip" || fail "the remade hello.zip has no bootstrap"

# tether package's exit status is the build's: ARGS reach it, it refuses, no zip
set +e
cmake --build "$fn/build" --target refused_zip --verbose >"$fn/refused.log" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || { cat "$fn/refused.log"; fail "refused_zip succeeded although tether package refused its ARGS"; }
grep -q -- "tether package .*/refused -o .*/refused.zip --no-such-option" "$fn/refused.log" ||
  { cat "$fn/refused.log"; fail "tether package was not run with ARGS"; }
[ ! -e "$fn/build/refused.zip" ] || fail "a refused package left refused.zip"

# misuse is a configure error that says what is wrong
mkdir -p "$fn/misuse"
cat > "$fn/misuse/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.20)
project(misuse C)
find_package(tether 0.1 REQUIRED)
tether_package_target(no_such_target)
C
if cmake -S "$fn/misuse" -B "$fn/misuse/build" -DCMAKE_PREFIX_PATH="$prefix" >"$fn/misuse.log" 2>&1; then
  fail "tether_package_target of an unknown target configured"
fi
grep -q "no target 'no_such_target'" "$fn/misuse.log" || { cat "$fn/misuse.log"; fail "misuse message"; }
echo "PASS: tether_package_target from an installed, moved prefix"
