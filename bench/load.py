"""Load generator: N residents on loopback, each looping GET form → POST answers, for S seconds.

Run from the repository root (it starts its own server on a free port with a scratch data folder):

    .venv/bin/python bench/load.py                                   # SQLite, 1 worker, 64 residents, 10 s
    .venv/bin/python bench/load.py --workers 2 --concurrency 64 --duration 10
    .venv/bin/python bench/load.py --database postgresql://postgres@127.0.0.1:5432/minping_bench

A PostgreSQL database is created when missing and filled with the demo city when empty. Afterwards
the database must hold exactly the accepted submissions: one new row per receipt received, no more.
The last line is `accepted=… rps=… p99_ms=… errors=…` (p99 of the POST that saves the answers);
the exit status is 1 when anything was refused, failed or did not match the database.

With `--baseline` the same residents then load a bare Litestar app under the same uvicorn settings
and worker count (bench/bare_app.py), which serves the form page captured from Minping for every
link and answers every POST with a 303 and a receipt, storing nothing; the run ends with
`baseline_rps=… ratio=…`, Minping's rate as a share of the framework's own limit on this machine now.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402 - a sibling module, importable however the script is started

REQUEST_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 30.0


@dataclass
class Stats:
    receipts: list[str] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


async def resident(
    port: int, tokens: list[str], rng: random.Random, stats: Stats, deadline: float, fresh: bool = False
) -> None:
    """One resident after another until the deadline (closed loop, no think time), on one keep-alive
    connection, or with `fresh` on a new connection each (its GET and POST share it), as phones do."""
    http = harness.Http(port, timeout=REQUEST_TIMEOUT_S)
    try:
        while time.monotonic() < deadline:
            if fresh:
                await http.close()
            path = f"/q/{rng.choice(tokens)}"
            try:
                start = time.perf_counter()
                page = await http.get(path)
                stats.get_ms.append((time.perf_counter() - start) * 1000)
                form = harness.parse_form(page.text) if page.status == 200 else None
                if form is None:
                    stats.errors[f"get_{page.status}"] += 1
                    continue
                start = time.perf_counter()
                sent = await http.post_form(path, harness.pick_answers(form, rng))
                stats.post_ms.append((time.perf_counter() - start) * 1000)
            except harness.HttpError as exc:
                stats.errors[f"connection_{exc}"] += 1
                continue
            receipt = harness.receipt_of(sent.headers.get("location")) if sent.status == 303 else None
            if receipt is None:
                kind = "database_is_locked" if "database is locked" in sent.text else f"post_{sent.status}"
                stats.errors[kind] += 1
            else:
                stats.receipts.append(receipt)
    finally:
        await http.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def open_tokens(port: int, tokens: list[str]) -> list[str]:
    """The links whose form can be answered now (some demo campaigns may be closed)."""
    http = harness.Http(port, timeout=PROBE_TIMEOUT_S)
    try:
        return [t for t in tokens if (await http.get(f"/q/{t}")).status == 200]
    finally:
        await http.close()


async def main(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="minping-load-"))
    env = harness.server_env(args.database, data_dir)
    server = None
    if args.url is None:
        if args.database != "sqlite":
            await harness.ensure_postgres_database(args.database)
        harness.ensure_demo(env)
        server = harness.Server(env, port=harness.free_port(), workers=args.workers)
        server.start()
    port = server.port if server is not None else int(urlsplit(args.url).port or 80)
    try:
        if server is not None:
            await server.wait_ready()
        tokens = await open_tokens(port, harness.link_tokens(env))
        if not tokens:
            print("no open link to answer", file=sys.stderr)
            return 1
        before = await harness.last_response_id(args.database, env)
        stats = Stats()
        start = time.monotonic()
        deadline = start + args.duration
        residents = [
            resident(port, tokens, random.Random(args.seed * 1000 + i), stats, deadline, args.connections == "fresh")
            for i in range(args.concurrency)
        ]
        await asyncio.wait_for(asyncio.gather(*residents), args.duration + 2 * REQUEST_TIMEOUT_S + 5)
        elapsed = time.monotonic() - start
        rows = await harness.stored_rows(args.database, env, before)
        if args.baseline:
            page = data_dir / "captured-form.html"
            http = harness.Http(port, timeout=PROBE_TIMEOUT_S)
            try:
                page.write_bytes((await http.get(f"/q/{tokens[0]}")).body)
            finally:
                await http.close()
    finally:
        if server is not None:
            server.stop()
    status = report(args, stats, rows, elapsed, len(tokens))
    if args.baseline:
        bare_rps = await baseline(args, page, tokens)
        rps = len(stats.receipts) / elapsed
        print(f"baseline_rps={bare_rps:.1f} minping_rps={rps:.1f} ratio={rps / bare_rps:.3f}")
    return status


async def baseline(args: argparse.Namespace, page: Path, tokens: list[str]) -> float:
    """Accepted submissions per second of the bare app (bench/bare_app.py), same residents, same duration."""
    port = harness.free_port()
    script = Path(__file__).resolve().parent / "bare_app.py"
    argv = [sys.executable, str(script), "--port", str(port), "--workers", str(args.workers), "--page", str(page)]
    process = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + harness.READY_TIMEOUT_S
        while True:
            probe = harness.Http(port, timeout=2)
            try:
                await probe.get(f"/q/{tokens[0]}")
                break
            except harness.HttpError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the bare app did not start") from None
                await asyncio.sleep(0.1)
            finally:
                await probe.close()
        stats = Stats()
        start = time.monotonic()
        residents = [
            resident(port, tokens, random.Random(args.seed * 1000 + i), stats, start + args.duration)
            for i in range(args.concurrency)
        ]
        await asyncio.wait_for(asyncio.gather(*residents), args.duration + 2 * REQUEST_TIMEOUT_S + 5)
        elapsed = time.monotonic() - start
        p99 = percentile(stats.post_ms, 99)
        errors = sum(stats.errors.values())
        accepted = len(stats.receipts)
        print(f"baseline (bare Litestar, {args.workers} workers): accepted={accepted} p99_ms={p99:.1f} errors={errors}")
        return len(stats.receipts) / elapsed
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=10)


def report(args: argparse.Namespace, stats: Stats, rows: list[tuple[int, str, str]], elapsed: float, links: int) -> int:
    stored = Counter(receipt for _, _, receipt in rows)
    got = Counter(stats.receipts)
    missing = sum((got - stored).values())  # acknowledged but not in the database
    extra = sum((stored - got).values())  # in the database but never acknowledged
    if missing:
        stats.errors["verify_missing"] += missing
    if extra:
        stats.errors["verify_extra"] += extra
    accepted = len(stats.receipts)
    rps = accepted / elapsed
    print(
        f"database={'sqlite' if args.database == 'sqlite' else 'postgresql'} workers={args.workers} "
        f"concurrency={args.concurrency} connections={args.connections} duration={elapsed:.1f}s links={links}"
    )
    for name, values in (("GET form", stats.get_ms), ("POST answers", stats.post_ms)):
        p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
        print(f"{name:13} n={len(values):6}  p50={p50:7.1f} ms  p95={p95:7.1f} ms  p99={p99:7.1f} ms")
    print(f"database rows added={len(rows)} receipts={accepted} missing={missing} extra={extra}")
    print("errors: " + (", ".join(f"{k}={v}" for k, v in sorted(stats.errors.items())) or "none"))
    errors = sum(stats.errors.values())
    print(f"accepted={accepted} rps={rps:.1f} p99_ms={percentile(stats.post_ms, 99):.1f} errors={errors}")
    return 1 if errors else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="'sqlite' (scratch file) or a postgresql:// URL")
    parser.add_argument("--workers", type=int, choices=(1, 2), default=1)
    parser.add_argument("--concurrency", type=int, default=64, help="simultaneous residents")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--connections",
        choices=("keep-alive", "fresh"),
        default="keep-alive",
        help="each simulated resident reuses one connection for all its rounds, or opens a new one per round",
    )
    parser.add_argument(
        "--baseline", action="store_true", help="then load a bare Litestar app the same way and print the ratio"
    )
    parser.add_argument("--url", default=None, help="target a running server instead of starting one")
    parser.add_argument("--data-dir", default=None, help="with --url: the server's MINPING_DATA_DIR")
    args = parser.parse_args()
    if args.url and not args.data_dir:
        parser.error("--url needs --data-dir (to list links and check the database)")
    if args.url and urlsplit(args.url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("--url must be a loopback address (http://127.0.0.1:PORT)")
    if not (0 < args.duration <= 600 and 0 < args.concurrency <= 1000):
        parser.error("duration must be in (0, 600] s and concurrency in (0, 1000]")
    return args


if __name__ == "__main__":
    # uvloop (installed with uvicorn) when there: the generator shares the cores with the server it measures.
    try:
        import uvloop
    except ImportError:
        sys.exit(asyncio.run(main(parse_args())))
    sys.exit(uvloop.run(main(parse_args())))
