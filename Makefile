# The two commands a newcomer needs: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench clean sysdeps

sysdeps:
	@if ! ldconfig -p 2>/dev/null | grep -q libzbar.so.0; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing libzbar0 (needed by pyzbar)"; \
	    (apt-get install -y -q libzbar0 >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q libzbar0 >/dev/null)) \
	      || { echo "could not install libzbar0: run 'apt-get install libzbar0' as root"; exit 1; }; \
	  else echo "libzbar0 is missing: run 'sudo apt-get install libzbar0', then retry"; exit 1; fi; \
	fi

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "$(PY) not found: install Python 3.11 (apt-get install python3.11 python3.11-venv)"; exit 1; }
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing python3.11-venv (needed to create .venv)"; \
	    (apt-get install -y -q python3.11-venv >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q python3.11-venv >/dev/null)) \
	      && $(PY) -m venv $(VENV); \
	  else false; fi; } || { echo "cannot create .venv: run 'sudo apt-get install python3.11-venv', then retry"; exit 1; }
	$(BIN)/pip install -q -e '.[dev,cluster]'
	@touch $(STAMP)

demo: sysdeps $(STAMP)
	$(BIN)/mailing demo --out demo-output

test: sysdeps $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: sysdeps $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check mailing layouts scanning reports tests bench
	$(BIN)/mypy mailing layouts scanning reports

bench: sysdeps $(STAMP)
	$(BIN)/python bench/import.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
