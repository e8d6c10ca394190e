# Convenience targets over CMake. Run `bash .ci/install-deps` first on a new
# machine (the README's commands do).
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all configure build run test docs docs-check format tidy bench bench-all-cores bench-micro bench-build clean

all: build

configure:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j$(JOBS)

# The main job: the MLP on Fashion-MNIST with the defaults (5 epochs, about a
# minute), writing runs/fashion-mnist/{best.safetensors,metrics.csv,chart.svg}.
run: build
	./$(BUILD)/examples/retrograd train

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# The documentation site in $(BUILD)/docs/html (open index.html): the pages of
# docs/, the API reference from the public headers (Doxygen + Breathe), an
# explain page and a training chart made by the build. Needs
# `bash .ci/install-deps docs`. docs-check then opens every page in headless
# Chromium (docs/site/check_site.py).
docs: configure
	bash .ci/install-deps docs
	cmake --build $(BUILD) -j$(JOBS) --target docs

docs-check: docs
	/usr/bin/python3 docs/site/check_site.py --html $(BUILD)/docs/html --source . --build $(BUILD)

# Formats every tracked .cpp and .hpp in place with the checked-in
# .clang-format (CI fails on a file this would change).
format:
	bash .ci/cxx-files | xargs -0r clang-format -i

# clang-tidy with the checked-in .clang-tidy over the library, tests, examples
# and docs' tools; a finding fails. CI runs it on the library only (.ci/tidy
# library), the library alone taking about 7 minutes on 2 cores (docs/reliability.md).
tidy:
	bash .ci/tidy -j$(JOBS)

# The side-by-side suite against LibTorch, one thread (the fair figures on a
# shared machine); rewrites the table in docs/performance.md. bench-all-cores
# uses every core and also times each side on one thread next to each run, for
# its speed-up; bench-micro runs retrograd-only micro-benchmarks.
# The suite runs OpenBLAS as on a user's machine: OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE, if the environment pins them, are removed for it alone
# (OpenBLAS then picks its kernels for this CPU; the suite prints which).
UNPINNED := env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE

bench: bench-build
	$(UNPINNED) ./$(BUILD)-bench/bench/retrograd_bench --threads 1 --report docs/performance.md

bench-all-cores: bench-build
	$(UNPINNED) ./$(BUILD)-bench/bench/retrograd_bench --threads all

bench-micro: bench-build
	$(UNPINNED) OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 ./$(BUILD)-bench/bench/micro_bench

bench-build:
	bash .ci/install-deps bench
	cmake -S . -B $(BUILD)-bench -DCMAKE_BUILD_TYPE=Release -DRETROGRAD_BUILD_BENCH=ON \
	  -DRETROGRAD_BUILD_TESTS=OFF -DRETROGRAD_BUILD_EXAMPLES=OFF
	cmake --build $(BUILD)-bench -j$(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD)-bench build-tidy
