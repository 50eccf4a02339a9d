# The two commands a newcomer needs: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench clean sysdeps browser screenshots

sysdeps:
	@if ! ldconfig -p 2>/dev/null | grep -q libzbar.so.0; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing libzbar0 (needed by pyzbar)"; \
	    (apt-get install -y -q libzbar0 >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q libzbar0 >/dev/null)) \
	      || { echo "could not install libzbar0: run 'apt-get install libzbar0' as root"; exit 1; }; \
	  else echo "libzbar0 is missing: run 'sudo apt-get install libzbar0', then retry"; exit 1; fi; \
	fi
	@# Tesseract is only compared with in bench/ocr.py and its tests (they skip and say why without it)
	@if ! command -v tesseract >/dev/null; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing tesseract-ocr (compared with in bench/ocr.py)"; \
	    (apt-get install -y -q tesseract-ocr >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q tesseract-ocr >/dev/null)) \
	      || echo "could not install tesseract-ocr: the OCR comparison skips Tesseract"; \
	  else echo "tesseract-ocr is missing (optional): 'sudo apt-get install tesseract-ocr' to compare it in bench/ocr.py"; fi; \
	fi

# The browser tests (tests/web/test_browser.py) drive Debian's chromium through Playwright; never a downloaded
# browser. Without one they skip and say so.
browser:
	@if [ ! -x /usr/bin/chromium ] && ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium (for the browser tests)"; \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) \
	      || echo "could not install chromium: the browser tests will be skipped"; \
	  else echo "no chromium: the browser tests will be skipped; 'sudo apt-get install chromium' runs them"; fi; \
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
	@# the printed code's OCR model ships in this wheel; --no-deps because it asks for opencv-python, whose cv2
	@# would replace opencv-contrib-python-headless's (and WeChat with it); we need only onnxruntime from it
	$(BIN)/pip install -q --no-deps 'rapidocr-onnxruntime>=1.4.4,<2'
	@touch $(STAMP)

demo: sysdeps $(STAMP)
	$(BIN)/mailing demo --out demo-output

test: sysdeps browser $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: sysdeps $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow"

# docs/review-station.png and docs/answer-page.png, taken by the browser tests
screenshots: sysdeps browser $(STAMP)
	MAILING_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/web/test_browser.py

lint: $(STAMP)
	$(BIN)/ruff check mailing layouts scanning reports tests bench
	$(BIN)/mypy mailing layouts scanning reports

bench: sysdeps $(STAMP)
	$(BIN)/python bench/import.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/web.py --json web-bench.json

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
