#!/usr/bin/env bash
# libtether installs to a prefix and a separate project builds a function
# against it, both with find_package(tether) and with pkg-config; each built
# function starts and, with no Runtime API in its environment, says so and
# exits 1 (the loop itself is tested in tests/unit/runtime and on tether up).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
prefix=$TETHER_TEST_TMP/prefix
cmake --install "$TETHER_BUILD" --prefix "$prefix" >/dev/null || fail "cmake --install failed"
[ -f "$prefix/include/tether/tether.h" ] || fail "tether.h not installed"
[ -f "$prefix/include/tether/db.h" ] || fail "db.h not installed"
libdir=$(dirname "$(find "$prefix" -name 'libtether.a' | head -1)")
[ -f "$libdir/libtether.a" ] || fail "libtether.a not installed"
[ -e "$libdir/libtether.so" ] || fail "libtether.so not installed"
[ -f "$libdir/pkgconfig/tether.pc" ] || fail "tether.pc not installed"
[ -f "$libdir/cmake/tether/tetherConfig.cmake" ] || fail "tetherConfig.cmake not installed"
# only the public API is exported from the shared library
if nm -D --defined-only "$libdir/libtether.so" | awk '$2 == "T" {print $3}' | grep -v '^tether_'; then
  fail "libtether.so exports non-tether_ symbols"
fi

# a sanitized build's library needs the sanitizer runtime in the program too
san_flags=""
if readelf -d "$libdir/libtether.so" | grep -q libasan; then
  san_flags="-fsanitize=address,undefined"
fi

fn=$TETHER_TEST_TMP/fn
mkdir -p "$fn"
cat > "$fn/hello.c" <<'C'
#include <tether/tether.h>
#include <tether/db.h>
#include <string.h>
static int hello(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)ev; (void)user;
    mongoc_client_t *c = tether_db();
    (void)c;
    return tether_response_set(res, "hi", 2);
}
int main(void) { return tether_run_handler(hello); }
C
cat > "$fn/CMakeLists.txt" <<C
cmake_minimum_required(VERSION 3.20)
project(hello C)
find_package(tether 0.1 REQUIRED)
add_executable(bootstrap hello.c)
target_compile_options(bootstrap PRIVATE $san_flags)
target_link_options(bootstrap PRIVATE $san_flags)
target_link_libraries(bootstrap PRIVATE tether::tether_static)
add_executable(bootstrap_shared hello.c)
target_compile_options(bootstrap_shared PRIVATE $san_flags)
target_link_options(bootstrap_shared PRIVATE $san_flags)
target_link_libraries(bootstrap_shared PRIVATE tether::tether)
C
cmake -S "$fn" -B "$fn/build" -DCMAKE_PREFIX_PATH="$prefix" >"$fn/cmake.log" 2>&1 ||
  { cat "$fn/cmake.log"; fail "find_package(tether) project did not configure"; }
cmake --build "$fn/build" >"$fn/build.log" 2>&1 || { cat "$fn/build.log"; fail "find_package(tether) project did not build"; }

PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
pkg-config --exists tether || fail "pkg-config does not find tether"
[ "$(pkg-config --modversion tether)" = 0.1.0 ] || fail "tether.pc version"
# shellcheck disable=SC2046
cc $san_flags -o "$fn/bootstrap_pc" "$fn/hello.c" $(pkg-config --cflags --libs tether) \
  -Wl,-rpath,"$libdir" || fail "pkg-config build failed"

for exe in "$fn/build/bootstrap" "$fn/build/bootstrap_shared" "$fn/bootstrap_pc"; do
  set +e
  out=$(env -u AWS_LAMBDA_RUNTIME_API timeout 10 "$exe" 2>&1)
  rc=$?
  set -e
  [ $rc -eq 1 ] || fail "$exe exited $rc, expected 1: $out"
  echo "$out" | grep -q 'AWS_LAMBDA_RUNTIME_API is not set' || fail "$exe said: $out"
done
echo "PASS: install, find_package(tether), pkg-config"
