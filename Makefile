# aiotc: the two commands of the README, and the pieces they are made of.
#   make demo   set up this machine, compile a model aiotc makes itself, run it, print the report
#   make test   set up this machine and run the whole test suite (host, QEMU, slow tests), in parallel
#   make test-unit   the fast unit tier (tests/unit: no C builds; under a minute)
#   make test-fast   everything but the slow and QEMU tests
#   make lint   ruff (format and lint) and the type checker; make test runs it first
#   make fuzz   mutate the shared models, and draw random graphs against tflite-micro, for much
#               longer than the test suite does (FUZZ_EXAMPLES each)
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm chromium cmake arduino-builder arduino-core-avr
PLATFORMIO := build/platformio/bin/pio
STAMP := build/.installed

FUZZ_EXAMPLES ?= 5000

.PHONY: demo test test-unit test-fast lint fuzz bench install toolchain package-tools clean

demo: install toolchain
	$(PYTHON) -m aiotc.demo

# Tests run on every core (pytest-xdist); a test file stays on one worker, so its module
# fixtures (compiled models) are built once.
PYTEST := $(PYTHON) -m pytest -q -n auto --dist loadfile

test: install toolchain package-tools lint
	$(PYTEST)

# Style and types: ruff (format and lint, pyproject.toml) and the type checker.
lint: install
	$(PYTHON) -m ruff format --check --quiet aiotc tests benchmarks docs
	$(PYTHON) -m ruff check --quiet aiotc tests benchmarks docs
	$(PYTHON) -m mypy

test-unit: install
	$(PYTHON) -m pytest -q tests/unit

test-fast: install
	$(PYTEST) -m "not slow and not qemu"

fuzz: install
	AIOTC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) AIOTC_GRAPH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTHON) -m pytest -q tests/test_fuzz.py tests/test_graph_fuzz.py --hypothesis-show-statistics

bench: install toolchain
	$(PYTHON) benchmarks/run.py

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PIP) install --quiet --disable-pip-version-check -e ".[test]"
	@mkdir -p build && touch $(STAMP)

# The Arm cross compiler, QEMU, Chromium (renders report.html in the tests), CMake
# (builds the generated library in the tests) and arduino-builder with the AVR core (builds the
# --package arduino sketch) from Debian; skipped when already there.
toolchain:
	@if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v qemu-system-arm >/dev/null \
	    || ! command -v chromium >/dev/null || ! command -v cmake >/dev/null \
	    || ! command -v arduino-builder >/dev/null || ! [ -d /usr/share/arduino/hardware/arduino/avr ] \
	    || ! [ -f /usr/lib/arm-none-eabi/newlib/libc.a ]; then \
	  echo "installing $(APT_PACKAGES)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

# PlatformIO, which packs the --package platformio layout in the tests, in a virtual
# environment of its own (its pins stay out of aiotc's).
package-tools: $(PLATFORMIO)

$(PLATFORMIO):
	$(PYTHON) -m venv build/platformio
	build/platformio/bin/pip install --quiet --disable-pip-version-check platformio

clean:
	rm -rf build demo_out .pytest_cache
