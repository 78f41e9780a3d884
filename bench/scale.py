"""Score pages and exports at city scale: time and peak worker memory per page, N answers in the database.

Run from the repository root:

    .venv/bin/python bench/scale.py [--database sqlite|postgresql://…/minping_scale] [--sizes 50000,250000]
                                    [--repeat 3] [--compare /path/to/other/checkout]

For each size N the script builds (once, kept under /tmp/minping-scale-*) the demo city plus bulk
answers up to N in all, copied from the demo's own rows (campaign, unit, link, channel, status,
answers, times) with fresh submission ids and receipts: the shapes the app stores. It opens an
assessment period under the bundled scheme, serves the data with `minping serve` (one worker, no
fraud-flag pass), signs in as an admin and requests each page `--repeat` times, printing the first
view, the median of the views after it, and the worker's peak RSS during the first view and during
the views after it (VmHWM, reset through /proc/PID/clear_refs before every request).

With PostgreSQL, the URL names the database's stem: each size gets its own (`…_50000`, and
`…_compare_50000` for `--compare`), created when missing.

`--compare DIR` also serves a second checkout (e.g. `git worktree add /tmp/main main`) over its own
copy of the same data, the requests alternating between the two servers, and prints each figure as
a ratio to that checkout's: the machine may be shared and loaded, so only ratios taken in the same
run mean much. The staff dashboard, which reads no answers, is the load indicator.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import MINPING, Server, ensure_postgres_database, free_port, server_env, sqlite_path  # noqa: E402

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # survey_app/receipts.py
CAMPAIGN = "community-services-2026"
PERIOD = "scale"
ADMIN, PASSWORD = "scale-admin", "scale benchmark password"
BATCH = 5_000
# Columns a copy gets anew; the rest are the demo row's. `replaces` (a revision's predecessor) is left out.
FRESH = ("id", "submission_id", "receipt", "device_hash", "sheet", "replaces")


@dataclass(frozen=True)
class Target:
    name: str
    code: Path  # the checkout whose survey_app serves
    database: str  # "sqlite" or a PostgreSQL URL


def pages(unit_code: str) -> dict[str, str]:
    return {
        "staff dashboard (no answers read)": "/staff",
        "league page of the period": f"/assessments/{PERIOD}",
        "campaign report page": f"/reports/{CAMPAIGN}",
        "unit report page": f"/reports/{CAMPAIGN}/units/{unit_code}",
        "units.csv": f"/reports/{CAMPAIGN}/units.csv",
        "responses.csv": f"/staff/campaigns/{CAMPAIGN}/responses.csv",
    }


def environment(target: Target, data_dir: Path) -> dict[str, str]:
    env = server_env(target.database, data_dir)
    env["MINPING_FLAG_INTERVAL"] = "0"  # a flag pass over N answers in the middle of a page would skew it
    env["PYTHONPATH"] = str(target.code)  # ahead of the editable install: this checkout's survey_app
    return env


def minping(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run([str(MINPING), *args], env=env, input=stdin, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"minping {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def receipt(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(8))


def copies(template: list[dict], columns: list[str], count: int, rng: random.Random) -> list[tuple]:
    out = []
    for _ in range(count):
        row = dict(rng.choice(template))
        row |= {"submission_id": uuid.uuid4().hex, "receipt": receipt(rng), "device_hash": None, "sheet": None}
        out.append(tuple(row[c] for c in columns))
    return out


async def fill(env: dict[str, str], database: str, size: int) -> None:
    """Add copies of the demo's responses until the database holds `size` (seeded)."""
    rng = random.Random(size)
    if database == "sqlite":
        with sqlite3.connect(sqlite_path(env)) as conn:
            conn.row_factory = sqlite3.Row
            template = [dict(r) for r in conn.execute("SELECT * FROM response WHERE replaces IS NULL")]
            columns = [c for c in template[0] if c not in ("id", "replaces")]
            have = conn.execute("SELECT COUNT(*) FROM response").fetchone()[0]
            insert = f"INSERT INTO response ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
            for start in range(have, size, BATCH):
                conn.executemany(insert, copies(template, columns, min(BATCH, size - start), rng))
                conn.commit()
        return
    conn = await asyncpg.connect(database)
    try:
        template = [dict(r) for r in await conn.fetch("SELECT * FROM response WHERE replaces IS NULL")]
        columns = [c for c in template[0] if c not in ("id", "replaces")]
        have = await conn.fetchval("SELECT COUNT(*) FROM response")
        for start in range(have, size, BATCH):
            records = copies(template, columns, min(BATCH, size - start), rng)
            await conn.copy_records_to_table("response", records=records, columns=columns)
        await conn.execute("ANALYZE response")
    finally:
        await conn.close()


def prepare(target: Target, size: int) -> tuple[Target, dict[str, str]]:
    """`target` on its data folder (and PostgreSQL database) of `size` answers, built when missing."""
    if target.database != "sqlite":  # a database per size: each is built once and kept
        target = Target(target.name, target.code, f"{target.database}_{size}")
    suffix = "sqlite" if target.database == "sqlite" else target.database.rsplit("/", 1)[1]
    data_dir = Path(f"/tmp/minping-scale-{suffix}-{target.name}-{size}")
    env = environment(target, data_dir)
    if (data_dir / "ready").exists():
        return target, env
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    if target.database != "sqlite":
        asyncio.run(ensure_postgres_database(target.database))
    started = time.perf_counter()
    minping(env, "demo")
    asyncio.run(fill(env, target.database, size))
    minping(env, "assessment", "create", PERIOD, "--scheme", "civilized-city-2026", "--title", "规模测试")
    minping(env, "user", "create", ADMIN, "--role", "admin", stdin=PASSWORD + "\n")
    (data_dir / "ready").write_text(f"{size}\n")
    print(f"built {data_dir} ({size:,} answers) in {time.perf_counter() - started:.0f} s", flush=True)
    return target, env


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match[1]) / 1024 if match else float("nan")


class Session:
    """A signed-in admin against one server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.client = httpx.Client(base_url=server.url, timeout=600)

    def sign_in(self) -> None:
        page = self.client.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token, "no CSRF field on /login"
        data = {"_csrf_token": token[1], "username": ADMIN, "password": PASSWORD}
        reply = self.client.post("/login", data=data, follow_redirects=False)
        assert reply.status_code == 303, reply.status_code

    def view(self, path: str) -> tuple[float, float, int]:
        assert self.server.process is not None
        pid = self.server.process.pid
        reset_peak(pid)
        started = time.perf_counter()
        reply = self.client.get(path)
        elapsed = time.perf_counter() - started
        if reply.status_code != 200:
            raise RuntimeError(f"{path}: {reply.status_code}")
        return elapsed, peak_mb(pid), len(reply.content)


def unit_code(env: dict[str, str], database: str) -> str:
    """The unit with the most answers in the campaign (the heaviest unit page)."""
    query = (
        "SELECT u.code FROM response r JOIN unit u ON u.id = r.unit JOIN campaign c ON c.id = r.campaign "
        f"WHERE c.slug = '{CAMPAIGN}' GROUP BY u.code ORDER BY COUNT(*) DESC, u.code LIMIT 1"
    )
    if database == "sqlite":
        with sqlite3.connect(sqlite_path(env)) as conn:
            return str(conn.execute(query).fetchone()[0])

    async def fetch() -> str:
        conn = await asyncpg.connect(database)
        try:
            return str(await conn.fetchval(query))
        finally:
            await conn.close()

    return asyncio.run(fetch())


def measure(targets: list[Target], size: int, repeat: int) -> None:
    prepared = [prepare(t, size) for t in targets]
    targets, envs = [t for t, _ in prepared], [env for _, env in prepared]
    servers = [Server(env, port=free_port()) for env in envs]
    try:
        for server in servers:
            server.start()
        for server in servers:
            asyncio.run(server.wait_ready("/healthz"))
        sessions = [Session(s) for s in servers]
        for session in sessions:
            session.sign_in()
        code = unit_code(envs[0], targets[0].database)
        figures: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
        for name, path in pages(code).items():
            for _ in range(repeat):
                for target, session in zip(targets, sessions, strict=True):
                    figures.setdefault((name, target.name), []).append(session.view(path))
        report(targets, size, repeat, figures)
    finally:
        for server in servers:
            server.stop()


def report(targets: list[Target], size: int, repeat: int, figures: dict) -> None:
    database = "sqlite" if targets[0].database == "sqlite" else "postgresql"
    print(f"\n{size:,} answers, {database}, 1 worker; first view, then the median of the next {repeat - 1}")
    head = f"| {'page':<34} |" + "".join(
        f" {t.name} first | {t.name} again | {t.name} peak RSS first | {t.name} peak RSS again |" for t in targets
    )
    if len(targets) == 2:
        head += f" again: {targets[0].name}/{targets[1].name} |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name in dict.fromkeys(n for n, _ in figures):
        line = f"| {name:<34} |"
        again = []
        for t in targets:
            views = figures[name, t.name]
            rest = views[1:] or views[:1]
            again.append(statistics.median(v[0] for v in rest))
            line += f" {views[0][0]:8.3f} s | {again[-1]:8.3f} s |"
            line += f" {views[0][1]:7.0f} MB | {max(v[1] for v in rest):7.0f} MB |"
        if len(targets) == 2:
            line += f" {again[0] / again[1]:8.3f} |"
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--sizes", default="50000,250000,1000000", help="comma-separated answer counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", type=Path, default=None, help="another checkout, served alongside")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    targets = [Target("this", here, args.database)]
    if args.compare is not None:
        other = args.database
        if other != "sqlite":  # its own database beside this one's
            other = f"{other}_compare"
        targets.append(Target("other", args.compare.resolve(), other))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    for size in (int(s) for s in args.sizes.split(",")):
        measure(targets, size, max(2, args.repeat))


if __name__ == "__main__":
    main()
