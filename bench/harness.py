"""What bench/load.py and bench/crash.py share: a scratch server, the resident's form, the database check.

Everything here talks only to 127.0.0.1 and to servers it starts itself; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg

MINPING = Path(sys.executable).parent / "minping"
READY_TIMEOUT_S = 60.0  # generous: the machine may be busy (the servers share it with the load)

_FORM_TOKEN = re.compile(r'<input type="hidden" name="_form" value="([^"]+)"')
_RADIO = re.compile(r'<input type="radio" name="([^"]+)" value="([^"]+)"')
_RECEIPT = re.compile(r"[?&]r=([A-Z0-9]+)$")


class HttpError(Exception):
    """The connection failed or closed before a whole response arrived (the request may or may not have run)."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Http:
    """A minimal HTTP/1.1 keep-alive client for one loopback connection.

    httpx costs about a core at a few hundred requests per second, which on a 2-core machine is
    taken straight from the server being measured; this costs a tenth of that. It speaks only what
    uvicorn answers here: Content-Length or chunked bodies, no redirects followed, no TLS.
    """

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.port, self.timeout = port, timeout
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> Reply:
        return await self.request("GET", path)

    async def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        return await self.request("POST", path, urlencode(fields).encode(), "application/x-www-form-urlencoded")

    async def request(self, method: str, path: str, body: bytes = b"", content_type: str | None = None) -> Reply:
        try:
            return await asyncio.wait_for(self._exchange(method, path, body, content_type), self.timeout)
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError, IndexError, TimeoutError) as exc:
            await self.close()  # never reuse a connection in an unknown state
            raise HttpError(type(exc).__name__) from exc

    async def _exchange(self, method: str, path: str, body: bytes, content_type: str | None) -> Reply:
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._streams
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Length: {len(body)}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            content = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                content += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            content = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status, headers, content)

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Form:
    token: str  # the signed hidden `_form` field
    radios: dict[str, list[str]]  # radio group name -> its values, in page order


def parse_form(html: str) -> Form | None:
    """The form token and radio groups of a rendered questionnaire; None when the page has no form."""
    match = _FORM_TOKEN.search(html)
    if match is None:
        return None
    radios: dict[str, list[str]] = {}
    for name, value in _RADIO.findall(html):
        radios.setdefault(name, []).append(value)
    return Form(match.group(1), radios)


def pick_answers(form: Form, rng: random.Random) -> dict[str, str]:
    """One valid answer per radio group (every required item is a radio group in the bundled questionnaires)."""
    answers = {name: rng.choice(values) for name, values in form.radios.items()}
    answers["_form"] = form.token
    return answers


def receipt_of(response_location: str | None) -> str | None:
    """The receipt in a `/q/<token>/thanks?r=RECEIPT` redirect."""
    match = _RECEIPT.search(response_location or "")
    return match.group(1) if match else None


def server_env(database: str, data_dir: Path, *, secret_key: str | None = None) -> dict[str, str]:
    """The environment of a scratch server: its own data folder and database, nothing inherited from MINPING_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINPING_")}
    env["MINPING_DATA_DIR"] = str(data_dir)
    # Every simulated resident posts from 127.0.0.1: the per-address flood guard would cap the run at
    # its limit, so it stays on (its cost is measured) with a bound no run reaches.
    env["MINPING_RESIDENT_POSTS_PER_MINUTE"] = "1000000"
    if database != "sqlite":
        env["MINPING_DATABASE_URL"] = database
    if secret_key is not None:
        env["MINPING_SECRET_KEY"] = secret_key
    return env


def sqlite_path(env: dict[str, str]) -> Path:
    return Path(env["MINPING_DATA_DIR"]) / "minping.sqlite3"


async def ensure_postgres_database(url: str) -> None:
    """Create the named PostgreSQL database when it does not exist yet (never drops anything)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"database name {name!r}: use letters, digits and underscores")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


class Server:
    """`minping serve` in its own process group, so SIGKILL reaches the supervisor and every worker."""

    def __init__(self, env: dict[str, str], *, port: int, workers: int = 1) -> None:
        self.env, self.port, self.workers = env, port, workers
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(env["MINPING_DATA_DIR"]) / "server.log"

    def start(self) -> None:
        args = [str(MINPING), "serve", "--port", str(self.port), "--workers", str(self.workers)]
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it; closed with the process
        self.process = subprocess.Popen(
            args,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    async def wait_ready(self, probe_path: str = "/", timeout: float = READY_TIMEOUT_S) -> None:
        """Poll until the server answers (any HTTP status) or fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(f"GET {probe_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                line = await asyncio.wait_for(reader.readline(), 5)
                writer.close()
                if line.startswith(b"HTTP/1.1"):
                    return
            except (OSError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout:.0f} s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hooks, no flushing, as in a crash."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """Ask politely (SIGTERM), then SIGKILL after 10 s."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def ensure_demo(env: dict[str, str]) -> None:
    """Fill an empty database with the demo city (`minping demo`); a database with campaigns is used as it is."""
    done = subprocess.run([str(MINPING), "demo"], env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "already has campaigns" not in done.stderr:
        raise RuntimeError(f"minping demo failed: {done.stderr.strip()}")


def link_tokens(env: dict[str, str]) -> list[str]:
    """Tokens of every active link, from `minping links` (the path's last segment of each URL)."""
    out = subprocess.run(
        [str(MINPING), "links"], env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return [line.split("\t")[0].rstrip("/").rsplit("/", 1)[1] for line in out.splitlines() if line.strip()]


async def stored_rows(database: str, env: dict[str, str], after_id: int) -> list[tuple[int, str, str]]:
    """(id, submission_id, receipt) of every response row with id > after_id."""
    query = "SELECT id, submission_id, receipt FROM response WHERE id > {} ORDER BY id"
    if database == "sqlite":
        with sqlite3.connect(sqlite_path(env)) as conn:
            return [tuple(r) for r in conn.execute(query.format("?"), (after_id,))]
    conn = await asyncpg.connect(database)
    try:
        return [tuple(r) for r in await conn.fetch(query.format("$1"), after_id)]
    finally:
        await conn.close()


async def last_response_id(database: str, env: dict[str, str]) -> int:
    query = "SELECT COALESCE(MAX(id), 0) FROM response"
    if database == "sqlite":
        with sqlite3.connect(sqlite_path(env)) as conn:
            return int(conn.execute(query).fetchone()[0])
    conn = await asyncpg.connect(database)
    try:
        return int(await conn.fetchval(query))
    finally:
        await conn.close()
