"""The audit trail: every staff action that changes data appends one hash-chained entry.

`hash = sha256(prev_hash + payload)`, where `payload` is the canonical JSON of the entry (sorted
keys, no spaces) and the first entry's `prev_hash` is 64 zeros. Editing, deleting, swapping or
inserting any entry breaks the chain at that entry. Appends are serialised (an advisory lock on
PostgreSQL, an IMMEDIATE transaction on SQLite) so two concurrent actions cannot fork the chain.
Truncating the newest entries is only caught against a head recorded elsewhere: `verify` returns
the head so it can be published to assessors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from survey_app.db import engine, writing
from survey_app.tables import AuditEntry

GENESIS = "0" * 64
_APPEND_LOCK_KEY = 0x41554454  # "AUDT"


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    head: str  # hash of the newest entry (GENESIS when empty)
    first_broken: int | None  # id of the first entry that does not verify
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


async def record(
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append an entry; call it inside the same transaction as the change it describes."""
    at = datetime.now(UTC)
    payload = canonical(
        {
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "before": before,
            "after": after,
        }
    )
    async with writing():
        db = engine()
        if isinstance(db, PostgresEngine):
            await db.run_ddl(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK_KEY})")
        last = await AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id, ascending=False).first()
        prev = last["hash"] if last else GENESIS
        await AuditEntry.insert(
            AuditEntry(
                at=at,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=str(object_id),
                payload=payload,
                prev_hash=prev,
                hash=entry_hash(prev, payload),
            )
        )


async def verify() -> ChainCheck:
    """Walk the stored chain from the oldest entry; report the first entry that does not verify."""
    return check_chain(await AuditEntry.select().order_by(AuditEntry.id))


def check_chain(rows: list[dict[str, Any]]) -> ChainCheck:
    """Check rows (oldest first, as stored) link up and match their hashes."""
    prev = GENESIS
    for row in rows:
        problem = _problem(row, prev)
        if problem:
            return ChainCheck(len(rows), prev, row["id"], problem)
        prev = row["hash"]
    return ChainCheck(len(rows), prev, None, None)


def _problem(row: dict[str, Any], prev: str) -> str | None:
    if row["prev_hash"] != prev:
        return "does not follow the entry before it (an entry was removed, inserted or moved)"
    if entry_hash(prev, row["payload"]) != row["hash"]:
        return "its content does not match its hash (the entry was edited)"
    try:
        payload = json.loads(row["payload"])
    except ValueError:
        return "its content is not valid JSON"
    shown = {k: row[k] for k in ("actor", "action", "object_type", "object_id")}
    if {k: payload.get(k) for k in shown} != shown:
        return "its listed actor, action or object differ from its hashed content"
    return None


async def recent(limit: int = 100) -> list[dict[str, Any]]:
    """The newest entries, for the audit page."""
    rows = await (
        AuditEntry.select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.actor,
            AuditEntry.action,
            AuditEntry.object_type,
            AuditEntry.object_id,
            AuditEntry.payload,
        )
        .order_by(AuditEntry.id, ascending=False)
        .limit(limit)
    )
    for row in rows:
        payload = json.loads(row.pop("payload"))
        row["before"], row["after"] = payload.get("before"), payload.get("after")
    return rows
