# Thin wrapper around CMake: the real build is CMakeLists.txt.
BUILD ?= build
ASAN_BUILD ?= build-asan
BENCH_BUILD ?= build-release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build test test-asan fuzz demo bench clean

all: build

deps:
	bash packaging/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Everything: dependencies, build, every unit and integration test.
test: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Unit tests under AddressSanitizer and UBSan.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DSKIFF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# Every libFuzzer target for FUZZ_SECONDS each, corpora in tests/fuzz/corpus/<target>.
FUZZ_SECONDS ?= 30
fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSKIFF_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-fuzz -j $(JOBS)
	bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# Real nginx on loopback -> skiff -> output; see README.
demo: deps build
	python3 tests/demo/demo.py --skiff $(BUILD)/skiff

# A Release build of its own, so `make test` keeps its debug build.
bench: deps
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DSKIFF_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BENCH_BUILD) -j $(JOBS) --target skiff skiff-bench-gen skiff-bench-sink \
		skiff-bench-replay
	python3 bench/run.py --skiff $(BENCH_BUILD)/skiff --bin-dir $(BENCH_BUILD)/bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD)
