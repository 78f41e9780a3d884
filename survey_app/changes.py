"""The change sequence behind the API's feeds: one `change_event` row per insert and status change.

The domain functions that insert a response, case or unit, or change a response's status or a
case's state (or its reply, or a unit's fields), call `record` inside the same transaction, so the
event exists exactly when the change does. The row copies the object's campaign, unit and status
*as of that moment* from the object's own row (one INSERT … SELECT, no extra round trip), so a
feed shows every step, not only the latest state.

Reading in order. A client stores the cursor of the last event it saw and asks for the events
after it; it must never be handed, later, an event that sorts before that cursor. On SQLite
writers are serialised (IMMEDIATE transactions), so event ids commit in id order. On PostgreSQL
ids are taken at insert but transactions commit in any order: a transaction that took id 5 may
commit after one that took id 6 was read. So each event also records its transaction's id
(`tx`, `pg_current_xact_id()`), events sort by (tx, id), and a read returns only events whose
transaction is older than the oldest one of this database still running (`HORIZON`): every such
transaction has finished, and any event still to come has a larger tx. A transaction that stays
open holds the feeds back until it ends (never longer), and nothing is ever skipped. Transaction ids
are shared by every database of a PostgreSQL server, so the horizon leaves out the transactions
that pg_stat_activity shows running in other databases: a `pg_dump` of another database on the
same server, or the suite's other worker, would otherwise hold the feeds back for as long as it ran.
It leaves out only what it knows to be foreign; a transaction that ended meanwhile stays counted
(one read held back, never an event skipped).
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from survey_app.db import engine
from survey_app.tables import ChangeEvent

# The oldest transaction of this database still running at this statement's snapshot (its xmax when
# none): the in-progress ids of the snapshot, less those pg_stat_activity shows in another database
# (its backend_xid is the 32-bit form of the same id).
HORIZON = (
    "SELECT COALESCE((SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x "
    "WHERE x::text::bigint % 4294967296 NOT IN (SELECT backend_xid::text::bigint FROM pg_stat_activity "
    "WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database())), "
    "pg_snapshot_xmax(pg_current_snapshot())::text::bigint)"
)


class Kind(StrEnum):
    response = "response"
    case = "case"
    unit = "unit"
    period = "period"  # an assessment period (sealed: status closed); no unit, so only city-wide readers see it


class Change(StrEnum):
    created = "created"  # inserted
    status = "status"  # a response's status or a case's state changed
    updated = "updated"  # another field a client shows changed (a case's reply or deadlines, a unit's names)
    overdue = "overdue"  # a case passed its close deadline while open (recorded once, by `webhooks.mark_overdue`)


# Per kind: the table, and the expressions of its campaign, unit and status (as of the change).
_SOURCES = {
    Kind.response: ('"response"', '"campaign"', '"unit"', '"status"'),
    Kind.case: ('"rating_case"', '"campaign"', '"unit"', '"state"'),
    Kind.unit: ('"unit"', "NULL", '"id"', "''"),
    Kind.period: ('"assessment_period"', "NULL", "NULL", '"status"'),
}
MAX_PAGE = 500
# Every string of this form is a position (one past the newest event is merely an empty page), so a
# schema that states it admits nothing the server would refuse; 18 digits stay below 2**63.
CURSOR = re.compile(r"\d{1,18}-\d{1,18}")


def _tx() -> str:
    return "pg_current_xact_id()::text::bigint" if isinstance(engine(), PostgresEngine) else "0"


async def record(kind: Kind, object_id: int, change: Change) -> None:
    """Append the event of one object's change; call inside the transaction that makes it."""
    await record_many(kind, [object_id], change)


async def record_many(kind: Kind, object_ids: list[int], change: Change) -> None:
    """`record` for many objects at once (bulk inserts), in id order."""
    if not object_ids:
        return
    table, campaign, unit, status = _SOURCES[kind]
    ids = ", ".join(str(int(i)) for i in object_ids)
    await ChangeEvent.raw(
        'INSERT INTO "change_event" ("tx", "kind", "object_id", "campaign", "unit", "status", "change", "at") '
        f"SELECT {_tx()}, {{}}, id, {campaign}, {unit}, {status}, {{}}, {{}} FROM {table} "
        f"WHERE id IN ({ids}) ORDER BY id",
        kind.value,
        change.value,
        datetime.now(UTC),
    )


class BadCursor(ValueError):
    """A cursor this server did not hand out."""


@dataclass(frozen=True)
class Position:
    """Where a client is in the sequence: after the event (tx, id); (0, 0) is the start."""

    tx: int = 0
    id: int = 0

    def encode(self) -> str:
        """The cursor clients store: opaque to them (today the two numbers), matching `CURSOR`."""
        return f"{self.tx}-{self.id}"

    @classmethod
    def decode(cls, cursor: str) -> Position:
        """:raise BadCursor: for anything that does not match `CURSOR`."""
        if not cursor:
            return cls()
        if not CURSOR.fullmatch(cursor):
            raise BadCursor(cursor)
        tx, event = cursor.split("-")
        return cls(int(tx), int(event))


@dataclass(frozen=True)
class Event:
    id: int
    tx: int
    kind: str
    object_id: int
    campaign_id: int | None
    unit_id: int | None
    status: str
    change: str
    at: datetime

    @property
    def position(self) -> Position:
        return Position(self.tx, self.id)


async def after(
    kind: Kind | tuple[Kind, ...],
    position: Position,
    limit: int,
    *,
    visible: AbstractSet[int] | None,
    campaign_id: int | None = None,
) -> list[Event]:
    """The next `limit` events of `kind` (or kinds) after `position`, in sequence order, among `visible`
    units (None: every unit, and events of no unit) and of one campaign if given."""
    kinds = (kind,) if isinstance(kind, Kind) else kind
    # A cursor's numbers may exceed the id column's type (4 bytes on PostgreSQL): compared as 8-byte integers.
    bigint = "::bigint" if isinstance(engine(), PostgresEngine) else ""
    conditions = [
        f'"kind" IN ({", ".join("{}" for _ in kinds)})',
        f'("tx" > {{}}{bigint} OR ("tx" = {{}}{bigint} AND "id" > {{}}{bigint}))',
    ]
    args: list[Any] = [*(k.value for k in kinds), position.tx, position.tx, position.id]
    if isinstance(engine(), PostgresEngine):
        conditions.append(f'"tx" < ({HORIZON})')
    if campaign_id is not None:
        conditions.append('"campaign" = {}')
        args.append(campaign_id)
    if visible is not None:
        conditions.append(f'"unit" IN ({", ".join(str(int(u)) for u in visible) or "-1"})')
    rows = await ChangeEvent.raw(
        'SELECT "id", "tx", "kind", "object_id", "campaign", "unit", "status", "change", "at" FROM "change_event" '
        f'WHERE {" AND ".join(conditions)} ORDER BY "tx", "id" LIMIT {int(min(limit, MAX_PAGE))}',
        *args,
    )
    return [
        Event(
            r["id"],
            r["tx"],
            r["kind"],
            r["object_id"],
            r["campaign"],
            r["unit"],
            r["status"],
            r["change"],
            _aware(r["at"]),
        )
        for r in rows
    ]


def _aware(at: datetime | str) -> datetime:
    # A raw query on SQLite may return the stored text; PostgreSQL returns an aware datetime.
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
