# cloud-secrets: everything installs into this folder (.venv, .tools), pinned. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := $(CURDIR)/.tools
export ELASTIC_PACKAGE_CHECK_UPDATE_DISABLED := true
export ELASTIC_PACKAGE_DATA_HOME := $(TOOLS)/elastic-package-home
# The Go checksum database does not list these modules; go.sum in scripts/tools pins their hashes.
export GONOSUMDB := github.com/elastic
export GOFLAGS := -mod=mod
# The backtest's compiled reader (native/, Rust with PyO3) is built with the machine's rustup toolchain; the
# crates Cargo.lock pins are downloaded into .tools/cargo.
CARGO ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
export CARGO_HOME := $(TOOLS)/cargo
export CARGO_TARGET_DIR := $(TOOLS)/cargo-target
export PATH := $(dir $(CARGO)):$(PATH)

.PHONY: help bootstrap venv native tools engine-jars browser generate check-generated lint package demo test bench registry clean dashboards-preview

help:
	@echo "make bootstrap  install the Python env, elastic-package, package-registry and the engine jars"
	@echo "make demo       build the package, start the embedded Elasticsearch, tag the fixtures, print a table"
	@echo "make test       run the test suite (starts and stops its own Elasticsearch)"
	@echo "make bench      print the benchmark ratios"
	@echo "make dashboards-preview  render the dashboards from 14 simulated days (docs/img/overview.png)"
	@echo "make registry   serve the built package to Fleet from a local package registry (REGISTRY_ADDRESS)"
	@echo "make clean      remove build output and the engine's data (keeps installed tools)"

bootstrap: venv native tools engine-jars

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# maturin (pinned in native/pyproject.toml) builds the extension module into the venv; cargo runs --locked.
native: $(VENV)/.native
$(VENV)/.native: $(VENV)/.installed native/Cargo.toml native/Cargo.lock native/pyproject.toml $(wildcard native/src/*.rs)
	@test -x "$(CARGO)" || { echo "cargo not found: install Rust (rustup) or set CARGO=/path/to/cargo"; exit 1; }
	$(PY) -m pip install -q --no-deps --force-reinstall ./native
	touch $@

tools: $(TOOLS)/bin/elastic-package $(TOOLS)/bin/package-registry
$(TOOLS)/bin/elastic-package: scripts/tools/elastic-package/go.mod scripts/tools/elastic-package/go.sum
	cd scripts/tools/elastic-package && go build -o $(TOOLS)/bin/elastic-package github.com/elastic/elastic-package
$(TOOLS)/bin/package-registry: scripts/tools/package-registry/go.mod scripts/tools/package-registry/go.sum
	cd scripts/tools/package-registry && go build -o $(TOOLS)/bin/package-registry github.com/elastic/package-registry

engine-jars: $(TOOLS)/engine/.installed
$(TOOLS)/engine/.installed: scripts/engine/pom.xml scripts/engine/src/cloudsecrets/EngineMain.java
	rm -rf $(TOOLS)/engine/lib $(TOOLS)/engine/classes
	mvn -B -q -f scripts/engine/pom.xml -Dmaven.repo.local=$(TOOLS)/m2 dependency:copy-dependencies \
		-DoutputDirectory=$(TOOLS)/engine/lib -DincludeScope=runtime
	javac -nowarn -cp '$(TOOLS)/engine/lib/*' -d $(TOOLS)/engine/classes scripts/engine/src/cloudsecrets/EngineMain.java
	touch $@

# Headless Chromium screenshots the HTML report in a test. Debian's package is the only browser build this
# network serves (browser downloads of test tools are refused); installing it needs root, as CI runs.
browser: /usr/bin/chromium
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

# elastic-package renders package/docs/README.md from package/_dev/build/docs/ (its check fails on a stale one).
generate: venv tools
	$(VENV)/bin/cloud-secrets generate
	cd package && $(TOOLS)/bin/elastic-package build

check-generated: venv
	$(VENV)/bin/cloud-secrets generate --check

lint: venv
	$(VENV)/bin/ruff check src tests
	cd native && $(CARGO) fmt --check
	cd native && $(CARGO) clippy --locked -q --release --all-targets -- -D warnings

package: bootstrap check-generated
	cd package && $(TOOLS)/bin/elastic-package check

demo: bootstrap package
	$(VENV)/bin/cloud-secrets demo

test: bootstrap browser
	$(VENV)/bin/ruff check src tests
	cd native && $(CARGO) fmt --check
	cd native && $(CARGO) test --locked -q --release
	$(VENV)/bin/pytest

bench: bootstrap
	$(PY) -m cloud_secrets.evaluation.bench

# The README's picture: 14 simulated days with every attack, tagged on the embedded node, backtested, rendered
# as the dashboards show them (docs/img/overview.png, identity.png, alerts.png and previews.html).
PREVIEW := $(CURDIR)/.work/preview
dashboards-preview: bootstrap
	mkdir -p $(PREVIEW)
	$(VENV)/bin/cloud-secrets simulate --scenario all --days 14 --identities 60 --seed 1 \
		--out $(PREVIEW)/docs.ndjson --labels $(PREVIEW)/labels.ndjson
	$(VENV)/bin/cloud-secrets tag $(PREVIEW)/docs.ndjson > $(PREVIEW)/tagged.ndjson
	$(VENV)/bin/cloud-secrets backtest --json --quiet $(PREVIEW)/tagged.ndjson > $(PREVIEW)/alerts.ndjson
	$(VENV)/bin/cloud-secrets dashboards preview --out $(PREVIEW)/img --labels $(PREVIEW)/labels.ndjson \
		--alerts $(PREVIEW)/alerts.ndjson $(PREVIEW)/tagged.ndjson
	mkdir -p docs/img && cp $(PREVIEW)/img/overview.png docs/img/overview.png

# Fleet: point Kibana at it with `xpack.fleet.registryUrl: "http://<this host>:8080"` (listen on an address
# Kibana can reach, e.g. REGISTRY_ADDRESS=0.0.0.0:8080). See docs/wiring.md.
REGISTRY_ADDRESS ?= 127.0.0.1:8080
registry: package
	@echo "serving build/packages on http://$(REGISTRY_ADDRESS) (Ctrl-C stops it)"
	$(TOOLS)/bin/package-registry -config scripts/registry/config.yml -address $(REGISTRY_ADDRESS) \
		-require-package-signatures=false -log-type dev

clean:
	-$(VENV)/bin/cloud-secrets engine stop 2>/dev/null
	rm -rf build .work .pytest_cache .ruff_cache
