# The README's two commands, and a few more.
#   make up      install missing packages, build, run tether up on the example template
#   make test    install missing packages (and test peers), build with ASan+UBSan, run ctest
#   make build   build/ (release with debug info), used by make up and the benchmarks
#   make bench   run the benchmark programs (bench_system also draws bench/results/*.svg with gnuplot)
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: up test build build-test bench deps-build deps-test deps-bench clean format

deps-build:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

deps-bench:
	@scripts/deps.sh bench

build: deps-build
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build build -j $(JOBS)

up: build
	build/tether up --template build/examples/template.yaml --db-users build/examples/db-users.json \
	  --port 9000 --db-port 27017

build-test: deps-test
	cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DTETHER_SANITIZE=ON -DTETHER_WERROR=ON $(CMAKE_FLAGS)
	cmake --build build-test -j $(JOBS)

test: build-test
	cd build-test && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j 2 $(CTEST_FLAGS)

bench: deps-bench build
	@for b in build/bench/bench_*; do echo "== $$b"; $$b; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-test
