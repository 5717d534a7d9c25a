# Seam — the two commands a new user runs: `make demo` and `make test`.
#
# meson + ninja do the building; this file only strings the steps together.
#   make          install missing Debian packages, build everything into build/
#   make demo     the same and the bundles, then the demo (scripts/demo: a lab of
#                 three hosts and six VMs, live-patched while they run)
#   make test     the same plus the sanitizer build (build-asan/), then every test
#   make unit | integration | bench
#   make bundles  build/bundles/: dev key, trust store and the seam-*.zip bundles
#   make web-test the web client's browser test (npm ci when node_modules is missing)
BUILD ?= build
ASAN ?= build-asan
MESON_SETUP = meson setup --buildtype=debugoptimized

.PHONY: all deps build asan demo test unit integration bench bundles web-test clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@test -f $(BUILD)/build.ninja || $(MESON_SETUP) $(BUILD)
	ninja -C $(BUILD)

asan: deps
	@test -f $(ASAN)/build.ninja || $(MESON_SETUP) -Dsanitize=true $(ASAN)
	ninja -C $(ASAN)

demo: bundles
	scripts/demo

test: build asan
	scripts/run-tests

unit: asan
	meson test -C $(ASAN) --print-errorlogs

integration: build asan
	scripts/run-tests integration

web-test: build
	scripts/run-tests web

bundles: build
	bundles/make-bundles $(BUILD)

bench: build
	@for b in bench/*; do [ -f "$$b" ] && [ -x "$$b" ] && "$$b"; done

clean:
	rm -rf $(BUILD) $(ASAN)
