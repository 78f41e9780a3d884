"""Real `minping serve` processes on loopback, for the tests where only a real server shows the behaviour:
races between requests and workers, a browser, sessions and limits shared through Redis, start-up."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import MINPING

START_TIMEOUT_S = 90  # two workers importing the app on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    pid: int = 0  # of the server's process group: `os.killpg(pid, SIGKILL)` kills it with its workers

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serving(data_dir: Path, env: Mapping[str, str], *args: str) -> Iterator[Server]:
    """`minping serve --port <free> *args` with `env` as its whole environment (plus MINPING_DATA_DIR),
    until it answers; stopped with all its workers (one process group) when the block ends."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"server-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(MINPING), "serve", "--port", str(port), *args],
            env={**env, "MINPING_DATA_DIR": str(data_dir)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", log, process.pid)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, server.log_text()
            try:
                httpx.get(server.url + "/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"not serving after {START_TIMEOUT_S} s:\n{server.log_text()}"
                time.sleep(0.1)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):  # a test may have killed it already
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def clean_environment() -> dict[str, str]:
    """This process's environment without Minping's settings: a server configured by its test alone."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MINPING_")}
