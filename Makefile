# Convenience targets over CMake. Run `bash .ci/install-deps` first on a new
# machine (the README's commands do).
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all configure build run test bench clean

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

bench:
	bash .ci/install-deps bench
	cmake -S . -B $(BUILD)-bench -DCMAKE_BUILD_TYPE=Release -DRETROGRAD_BUILD_BENCH=ON \
	  -DRETROGRAD_BUILD_TESTS=OFF -DRETROGRAD_BUILD_EXAMPLES=OFF
	cmake --build $(BUILD)-bench -j$(JOBS)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 ./$(BUILD)-bench/bench/autodiff_bench

clean:
	rm -rf $(BUILD) $(BUILD)-bench
