# headrace — build, test, demo and benchmark from a clean clone.
#   make demo    local virtual environment, release build, demonstration pipeline
#   make test    Rust and Python test suites, plus format and lint checks
#   make bench   benchmarks beside tf.data (installs tensorflow-cpu into .venv)
#   make fuzz    each cargo-fuzz target for FUZZ_TIME seconds (installs cargo-fuzz into .tools)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.deps-installed
BUILD_STAMP := $(VENV)/.headrace-built
RUST_SOURCES := $(shell find crates -name '*.rs' -o -name Cargo.toml) Cargo.toml pyproject.toml

export CARGO_TERM_COLOR ?= never

.PHONY: demo test test-rust test-python lint build bench bench-deps fuzz clean

# nasm lets libjpeg-turbo (image decoding, vendored by mozjpeg-sys) build its SIMD code,
# which decodes about 1.7x faster; without it the build falls back to plain C. Installed
# when the machine lets us (apt-get as root); otherwise a note, and the build goes on.
NASM_STAMP := .nasm-checked
$(NASM_STAMP):
	@command -v nasm >/dev/null 2>&1 \
		|| (command -v apt-get >/dev/null 2>&1 \
			&& (apt-get install -y -q nasm || (apt-get update -q && apt-get install -y -q nasm)) >/dev/null 2>&1) \
		|| echo "note: nasm is not installed: JPEG decoding is built without SIMD"
	@touch $@

$(STAMP): pyproject.toml $(NASM_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "maturin>=1.14,<2" "numpy>=1.24" "pytest>=8" "pytest-timeout>=2.3" "ruff>=0.6" "ml_dtypes>=0.4" "hypothesis>=6.100" "cloudpickle>=2"
	touch $@

# The extension module, built in release mode (the engine is slow unoptimised) and
# installed into .venv in editable form: python/headrace is used in place.
$(BUILD_STAMP): $(STAMP) $(RUST_SOURCES)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release --quiet
	touch $@

build: $(BUILD_STAMP)

demo: build
	$(PY) examples/demo.py

test: test-rust test-python lint

test-rust: $(NASM_STAMP)
	cargo test --workspace --exclude headrace-python

test-python: build
	$(PY) -m pytest -q

lint: $(STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests bench examples

bench-deps: $(STAMP)
	$(PIP) install --quiet "tensorflow-cpu>=2.16" "scikit-learn" "pillow"

bench: build bench-deps
	cargo bench -p headrace --bench pipeline
	$(PY) bench/bench_core.py
	$(PY) bench/bench_tracing.py
	$(PY) bench/bench_tfrecord.py
	$(PY) bench/bench_images.py
	$(PY) bench/bench_workers.py

# Fuzzing: cargo-fuzz, installed locally, on the stable toolchain (RUSTC_BOOTSTRAP lets it
# use the sanitizer flags). Targets run one after another, FUZZ_TIME seconds each; an
# allocation over 256 MiB, 2 GiB resident or an input taking over 10 s counts as a crash
# (FUZZ_TIME=600 make fuzz for longer runs).
# Corpora (fuzz/corpus, seeded from the reference TFRecord files) and crashes
# (fuzz/artifacts) are git-ignored.
FUZZ_TOOLS := .tools
CARGO_FUZZ := $(FUZZ_TOOLS)/bin/cargo-fuzz
FUZZ_TARGETS := tfrecord_reader example_parse image_decode
FUZZ_TIME ?= 60
FUZZ_FLAGS := -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10

$(CARGO_FUZZ):
	cargo install cargo-fuzz --locked --root $(FUZZ_TOOLS)

# Every target runs even when one fails; then the failures are named and make fails.
fuzz: $(CARGO_FUZZ)
	sh fuzz/seed-corpus.sh
	failed=; for target in $(FUZZ_TARGETS); do \
		RUSTC_BOOTSTRAP=1 $(CARGO_FUZZ) run --fuzz-dir fuzz $$target -- $(FUZZ_FLAGS) \
			|| failed="$$failed $$target"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed (inputs in fuzz/artifacts)"; exit 1; fi

clean:
	cargo clean
	rm -rf $(VENV)
