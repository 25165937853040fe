"""``scut serve`` starts the application and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.client import HTTPResponse
from pathlib import Path

import pytest

from scut.web.security import CONTENT_SECURITY_POLICY


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> HTTPResponse:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"scut serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                assert isinstance(response, HTTPResponse)
                return response
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"scut serve did not answer {url} within 60 s")


def test_serve_answers_and_stops(tmp_path: Path) -> None:
    port = _free_port()
    environment = {
        **os.environ,
        "SCUT_DATA_DIR": str(tmp_path / "data"),
        "SCUT_DATABASE_URL": "",
        "SCUT_WEB_PLAIN_HTTP_LOOPBACK": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "scut", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/sign-in", process)
        assert response.status == 200
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "server" not in {name.lower() for name in response.headers}
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output.decode(errors="replace")
    assert (tmp_path / "data" / "scut.db").exists()


def test_serve_needs_both_tls_files(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scut", "serve", "--tls-key", str(tmp_path / "k")],
        env={**os.environ, "SCUT_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "give both --tls-certificate and --tls-key" in result.stderr
