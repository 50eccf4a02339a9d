"""A real browser for the web tests: Playwright for Python driving Debian's chromium (never a downloaded
browser), and a `mailing serve` application on 127.0.0.1 in a thread of the test process."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def chromium() -> str:
    """Debian's chromium ($MAILING_CHROMIUM names another build of it)."""
    return os.environ.get("MAILING_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# As the machine's probe starts it: no sandbox (root), no GPU, and no calls home (the network is closed).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
NO_BROWSER = "no chromium at /usr/bin/chromium: run `make test` as root (installs it) or `sudo apt-get install chromium`"


def chromium_or_skip() -> Any:
    """The `sync_playwright` entry point, or a skip that says how to get a browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: run `make test` (it installs the dev extras)")
    if not os.access(chromium(), os.X_OK):
        pytest.skip(NO_BROWSER)
    return sync_playwright


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of 127.0.0.1; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
