#!/bin/sh
# Build migscope with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DMIGSCOPE_SANITIZE=ON, cmake/MigscopeWarnings.cmake) into build-asan/ and
# run the whole test suite there. Any sanitizer report fails its test
# (UBSan does not recover; ASan aborts). Usage: scripts/sanitize.sh [ctest args]
# Environment: BUILD (default build-asan), CC/CXX (default: the system's gcc).
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build-asan}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIGSCOPE_SANITIZE=ON \
  -DMIGSCOPE_BUILD_TESTS=ON -DMIGSCOPE_BUILD_BENCH=OFF
ninja -C "$build"
# halt_on_error: the first report fails the test (leaks included).
ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
