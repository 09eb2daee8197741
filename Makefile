# The two commands of the README: `make demo` and `make test`. Both build .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTION_LINK := .collections/ansible_collections/mitosis/rds
PORT ?= 5454
SPEED ?= 0.1
# The demo's clock: real seconds per simulated AWS minute (the clone takes about an hour of AWS time).
DEMO_SPEED ?= 0.5
PYTEST_ARGS ?=
# ansible-playbook runs are slow and independent: spread them over the cores.
FUNCTIONAL_WORKERS ?= 2
SANITY_ARGS ?=

.PHONY: venv bytecode endpoint demo test lint sanity unit functional endpoint-tests bench clean

venv: $(STAMP) $(COLLECTION_LINK)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

# The embedded RDS endpoint in the foreground, for trying the playbooks by hand (PostgreSQL instances are real servers).
endpoint: venv
	$(BIN)/python -m devtools.rds_endpoint --port $(PORT) --speed $(SPEED) --data-plane

demo: venv
	$(BIN)/python -m devtools.demo --speed $(DEMO_SPEED)

test: venv lint sanity unit endpoint-tests functional

# ansible-lint on the collection content; .ansible-lint sets the exclusions and offline mode
# (--offline repeated here so no run ever installs dependencies or checks versions online).
lint: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/ansible-lint --profile production --offline

# ansible-test sanity on the built tarball (see devtools/sanity.py); e.g. SANITY_ARGS="--test pep8 -v"
# or SANITY_ARGS=--all-pythons (also compile/import-test with every installed Python 3.8-3.13).
sanity: venv
	$(BIN)/python -m devtools.sanity $(SANITY_ARGS)

# The collection's own code, compiled once: every ansible-playbook run imports its plugins again, and these machines
# set PYTHONDONTWRITEBYTECODE, so it would be compiled again in each.
bytecode: venv
	$(BIN)/python -m compileall -q plugins devtools > /dev/null

unit: venv bytecode
	$(BIN)/python -m pytest -q -n 2 tests/unit $(PYTEST_ARGS)

endpoint-tests: venv bytecode
	$(BIN)/python -m pytest -q -n 2 tests/endpoint $(PYTEST_ARGS)

functional: venv bytecode
	mkdir -p tests/output
	$(BIN)/python -m pytest -q -n $(FUNCTIONAL_WORKERS) --dist worksteal --basetemp=tests/output/functional tests/functional $(PYTEST_ARGS)

# Not part of `make test`: clone runs with the time model on (~10 minutes), then planning by account size.
bench: venv
	$(BIN)/python -m devtools.bench_clone
	$(BIN)/python -m devtools.bench_plan
	$(BIN)/python -m devtools.bench_mask

clean:
	rm -rf $(VENV) .collections tests/output build .pytest_cache
