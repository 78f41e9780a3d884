"""Crash harness: SIGKILL the server at random moments under load; no acknowledged answer may be lost or doubled.

Run from the repository root (a scratch data folder and a free loopback port each time):

    .venv/bin/python bench/crash.py --rounds 20                     # SQLite
    .venv/bin/python bench/crash.py --rounds 20 --database postgresql://postgres@127.0.0.1:5432/minping_crash

Clients load forms and send them; a submission is acknowledged when the server answers 303 with a
receipt, and every acknowledgement goes to a journal (journal.jsonl in the data folder). At seeded
random moments the whole server process group gets SIGKILL, requests in flight die with it, and
the server is started again. Unacknowledged submissions are then sent again with the same form
token and answers, as a resident's browser would; a share of acknowledged ones are sent again too
(a double tap), and must get the same receipt. Forms issued before a kill are sent after the
restart, so the secret key kept in the data folder must survive it. Finally the journal is compared
with the database; the last line is `acknowledged=… lost=… duplicated=…`, and the exit status is 1
unless both are 0 and every submission was eventually acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402 - a sibling module, importable however the script is started

REQUEST_TIMEOUT_S = 10.0
DRAIN_PASSES = 5  # final resends of anything still unacknowledged


@dataclass
class Submission:
    path: str
    fields: dict[str, str]  # includes the signed `_form` token: resending it is resending the same submission
    receipt: str | None = None

    @property
    def submission_id(self) -> str:
        return self.fields["_form"].split(".")[0]


@dataclass
class Run:
    journal: Path
    tokens: list[str]
    port: int
    up: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    pending: list[Submission] = field(default_factory=list)  # sent at least once, never acknowledged
    acknowledged: list[Submission] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def acknowledge(self, submission: Submission, receipt: str) -> None:
        submission.receipt = receipt
        self.acknowledged.append(submission)
        with self.journal.open("a") as out:
            out.write(json.dumps({"submission_id": submission.submission_id, "receipt": receipt}) + "\n")


async def client(run: Run, rng: random.Random, resend_share: float) -> None:
    """Send forms until told to stop: unacknowledged ones first, a fresh one otherwise."""
    http = harness.Http(run.port, timeout=REQUEST_TIMEOUT_S)
    try:
        while not run.stop.is_set():
            await run.up.wait()
            resend = run.acknowledged and rng.random() < resend_share
            submission = rng.choice(run.acknowledged) if resend else (run.pending.pop() if run.pending else None)
            try:
                if submission is None:
                    submission = await fresh_submission(http, run, rng)
                    if submission is None:
                        continue
                reply = await http.post_form(submission.path, submission.fields)
            except harness.HttpError:
                if submission is not None and submission.receipt is None:
                    run.pending.append(submission)
                run.counts["connection_failures"] += 1
                await asyncio.sleep(0.02)  # the server is being killed or restarted
                continue
            settle(run, submission, reply)
    finally:
        await http.close()


async def fresh_submission(http: harness.Http, run: Run, rng: random.Random) -> Submission | None:
    path = f"/q/{rng.choice(run.tokens)}"
    page = await http.get(path)
    form = harness.parse_form(page.text) if page.status == 200 else None
    if form is None:
        run.counts[f"form_{page.status}"] += 1
        return None
    run.counts["forms"] += 1
    return Submission(path, harness.pick_answers(form, rng))


def settle(run: Run, submission: Submission, reply: harness.Reply) -> None:
    receipt = harness.receipt_of(reply.headers.get("location")) if reply.status == 303 else None
    if submission.receipt is not None:  # a double tap on an acknowledged submission
        run.counts["double_taps"] += 1
        if receipt != submission.receipt:
            run.counts["double_tap_other_receipt"] += 1
    elif receipt is not None:
        run.acknowledge(submission, receipt)
    else:
        run.counts[f"refused_{reply.status}"] += 1  # never expected: retry it, and report it
        run.pending.append(submission)


async def main(args: argparse.Namespace) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="minping-crash-"))
    env = harness.server_env(args.database, data_dir)  # no MINPING_SECRET_KEY: the key file must do
    if args.database != "sqlite":
        await harness.ensure_postgres_database(args.database)
    harness.ensure_demo(env)
    server = harness.Server(env, port=harness.free_port(), workers=args.workers)
    rng = random.Random(args.seed)
    server.start()
    try:
        await server.wait_ready()
        run = Run(data_dir / "journal.jsonl", harness.link_tokens(env), server.port)
        before = await harness.last_response_id(args.database, env)
        started = time.monotonic()
        run.up.set()
        clients = [
            asyncio.create_task(client(run, random.Random(args.seed * 1000 + i), args.resend))
            for i in range(args.clients)
        ]
        for round_no in range(1, args.rounds + 1):
            await asyncio.sleep(rng.uniform(args.min_up, args.max_up))
            run.up.clear()
            server.kill()
            await note_committed_unacknowledged(run, args.database, env, before)
            server.start()
            await server.wait_ready()
            run.up.set()
            print(f"round {round_no}: killed and restarted; acknowledged so far {len(run.acknowledged)}", flush=True)
        await asyncio.sleep(args.min_up)
        run.stop.set()
        await asyncio.wait_for(asyncio.gather(*clients), 2 * REQUEST_TIMEOUT_S)
        await drain(run)
        elapsed = time.monotonic() - started
        rows = await harness.stored_rows(args.database, env, before)
    finally:
        server.stop()
    return report(args, run, rows, elapsed, data_dir)


async def note_committed_unacknowledged(run: Run, database: str, env: dict[str, str], before: int) -> None:
    """Count submissions whose answer was committed but whose acknowledgement died with the server.

    Their resend after the restart exercises the "same submission, same receipt" path.
    """
    await asyncio.sleep(0.05)  # let the clients notice the kill and put their submissions back
    saved = {sid for _, sid, _ in await harness.stored_rows(database, env, before)}
    run.counts["committed_but_unacknowledged_at_kill"] += sum(s.submission_id in saved for s in run.pending)


async def drain(run: Run) -> None:
    """Resend whatever is still unacknowledged, a bounded number of times."""
    http = harness.Http(run.port, timeout=REQUEST_TIMEOUT_S)
    try:
        for _ in range(DRAIN_PASSES):
            waiting, run.pending = run.pending, []
            for submission in waiting:
                try:
                    settle(run, submission, await http.post_form(submission.path, submission.fields))
                except harness.HttpError:
                    run.pending.append(submission)
            if not run.pending:
                return
            await asyncio.sleep(0.5)
    finally:
        await http.close()


def report(args: argparse.Namespace, run: Run, rows: list[tuple[int, str, str]], elapsed: float, data: Path) -> int:
    stored = {(sid, receipt) for _, sid, receipt in rows}
    per_submission = Counter(sid for _, sid, _ in rows)
    acknowledged = {s.submission_id: s.receipt for s in run.acknowledged}
    lost = sum((sid, receipt) not in stored for sid, receipt in acknowledged.items())
    # A second row for one submission, or a double tap answered with another receipt.
    duplicated = sum(n - 1 for n in per_submission.values()) + run.counts["double_tap_other_receipt"]
    never_acknowledged_rows = sum(sid not in acknowledged for sid in per_submission)
    print(
        f"database={'sqlite' if args.database == 'sqlite' else 'postgresql'} workers={args.workers} "
        f"rounds={args.rounds} clients={args.clients} seed={args.seed} time={elapsed:.1f}s"
    )
    print("counts: " + ", ".join(f"{k}={v}" for k, v in sorted(run.counts.items())))
    print(
        f"database rows added={len(rows)} acknowledged submissions={len(acknowledged)} "
        f"rows never acknowledged={never_acknowledged_rows} still unacknowledged={len(run.pending)}"
    )
    print(f"journal: {run.journal}")
    print(f"acknowledged={len(acknowledged)} lost={lost} duplicated={duplicated}")
    return 0 if lost == duplicated == never_acknowledged_rows == len(run.pending) == 0 else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="'sqlite' (scratch file) or a postgresql:// URL")
    parser.add_argument("--workers", type=int, choices=(1, 2), default=1)
    parser.add_argument("--rounds", type=int, default=20, help="kills (and restarts)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--min-up", type=float, default=0.3, help="shortest time under load before a kill (s)")
    parser.add_argument("--max-up", type=float, default=1.2, help="longest time under load before a kill (s)")
    parser.add_argument("--resend", type=float, default=0.05, help="share of sends that repeat an acknowledged one")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not (1 <= args.rounds <= 200 and 1 <= args.clients <= 500 and 0 < args.min_up <= args.max_up <= 30):
        parser.error("rounds in [1, 200], clients in [1, 500], 0 < min-up <= max-up <= 30")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
