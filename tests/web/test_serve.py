"""`mailing serve` as it runs: uvicorn in a subprocess on 127.0.0.1, its log read afterwards."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mailing import codes
from tests.web.conftest import ANSWER_PATH

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_served_answer_page_logs_no_codes_and_no_client_addresses(web_db: Path, letters, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from mailing.cli import main; sys.exit(main())",
                                 "--db", str(web_db), "serve", "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        code = letters[0]["code"]
        with httpx.Client(base_url=base, timeout=5) as c:
            page = c.get(f"{ANSWER_PATH}/{codes.format_code(code)}")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            done = c.post(f"{ANSWER_PATH}/{code.lower()}", data={"csrf_token": token, "option": "info"})
            assert done.status_code == 200 and "Vielen Dank" in done.text
            assert c.get(f"{ANSWER_PATH}/{codes.new_code()}?code={code}").status_code == 404
            assert "server" not in {k.lower() for k in done.headers}  # no server banner
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = log.read_text(errors="replace")
    assert text.count("/[answer]") == 3, text
    flat = text.upper().replace("-", "")
    assert code not in flat and code[:6] not in flat
    assert "127.0.0.1:" not in text.replace(f"http://127.0.0.1:{port}/", ""), "no client address in the log"
