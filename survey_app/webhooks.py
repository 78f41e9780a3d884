"""Webhooks: events pushed to other systems through an outbox, signed, retried, dead-lettered (docs/api.md).

The outbox is the change sequence (survey_app/changes.py): its events are written in the
transaction of each change, so an event exists exactly when its change does. Each webhook keeps
its own cursor in that sequence; the workers' periodic `pump`:

1. `mark_overdue`: records once, as a change event, each open case that passed its close deadline;
2. `enqueue`: for each active webhook, turns the events after its cursor that it subscribed to
   into `webhook_delivery` rows (the JSON body fixed then) and moves the cursor, in one
   transaction with the webhook's row locked: a crash before the commit queues nothing and moves
   nothing, and the unique idempotency key (webhook, event) keeps a second worker from queuing twice;
3. `deliver`: POSTs due deliveries; a worker first moves a delivery's next attempt a lease ahead,
   so another worker does not send it meanwhile, and a worker killed mid-delivery leaves it to be
   sent again when the lease runs out. A 2xx answer marks it delivered; anything else retries
   with growing back-off, and after `MAX_ATTEMPTS` it is dead (listed in the back office, where an
   admin may redeliver it).

So delivery is at least once: a receiver must use `X-Minping-Delivery` (the idempotency key) to
drop repeats. Bodies are signed: `X-Minping-Signature: sha256=HMAC(secret, "<timestamp>.<body>")`
with `X-Minping-Timestamp`; the secret is shown once when the webhook is created and derived from
the deployment's secret key and a stored nonce (a copy of the database alone cannot sign).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
from piccolo.engine.postgres import PostgresEngine

from survey_app import audit, changes, periodic, units
from survey_app.cases import records, workflow
from survey_app.changes import Change, Event, Kind, Position
from survey_app.db import engine, lock_row, writing
from survey_app.i18n import N_, Refusal
from survey_app.questionnaires import versions
from survey_app.reporting import exports
from survey_app.settings import get_settings
from survey_app.tables import (
    AssessmentPeriod,
    Campaign,
    ChangeEvent,
    DeliveryState,
    PeriodStatus,
    RatingCase,
    ResponseStatus,
    Unit,
    Webhook,
    WebhookDelivery,
)

EVENTS = {
    "response.counted": N_("答卷计入得分（新答卷，或复核后保留）"),
    "response.excluded": N_("答卷被排除"),
    "case.opened": N_("差评立案"),
    "case.overdue": N_("案件超期未办结"),
    "case.closed": N_("案件办结（整改、解释、排除或被修改后的评价取代）"),
    "period.sealed": N_("考核期封存"),
}
MAX_ATTEMPTS = 8
BACKOFF_S = (10, 30, 60, 300, 900, 1800, 3600)  # wait after attempt 1, 2, …; the last repeats
TIMEOUT_S = 10.0
LEASE_S = 2 * TIMEOUT_S  # longer than a delivery can take, so a live worker's attempt is never doubled
QUEUE_BATCH = 200
SEND_BATCH = 50
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
_OVERDUE_LOCK_KEY = 0x4F564455  # "OVDU"


class WebhookError(Refusal):
    """A webhook could not be created or changed."""


@dataclass(frozen=True)
class WebhookInfo:
    id: int
    name: str
    url: str
    events: list[str]
    unit_code: str | None
    active: bool
    created_by: str
    created_at: datetime
    pending: int
    dead: int


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    webhook: str
    key: str
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime


def signing_secret(nonce: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), f"webhook:{nonce}".encode(), hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What `X-Minping-Signature` carries; a receiver recomputes it to check the body came from Minping."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def create(name: str, url: str, events: list[str], *, actor: str, unit_code: str | None = None) -> str:
    """Create a webhook and return its signing secret: the only time it is shown. Audited.

    Events already in the sequence are not sent: it starts at the newest event.

    :raise WebhookError: for a bad name, address, event or unit.
    """
    name = name.strip()
    if not NAME.match(name):
        raise WebhookError(N_("名称须为 2–64 个小写字母、数字、点、横线或下划线，以字母或数字开头。"))
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise WebhookError(N_("地址须为 http:// 或 https:// 开头的完整网址。"))
    unknown = sorted(set(events) - EVENTS.keys())
    if unknown or not events:
        raise WebhookError(N_("请至少选择一种事件（未知事件：%(names)s）。"), names=", ".join(unknown) or "-")
    unit_id = None
    if unit_code:
        unit = await Unit.select(Unit.id).where(Unit.code == unit_code).first()
        if unit is None:
            raise WebhookError(N_("没有代码为 %(code)s 的单位。"), code=unit_code)
        unit_id = unit["id"]
    nonce = secrets.token_urlsafe(32)
    async with writing():
        if await Webhook.exists().where(Webhook.name == name):
            raise WebhookError(N_("名称 %(name)s 已被使用。"), name=name)
        newest = await ChangeEvent.raw('SELECT "tx", "id" FROM "change_event" ORDER BY "tx" DESC, "id" DESC LIMIT 1')
        start = Position(newest[0]["tx"], newest[0]["id"]) if newest else Position()
        row = Webhook(
            name=name,
            url=url.strip(),
            events=sorted(set(events)),
            unit=unit_id,
            secret_nonce=nonce,
            cursor_tx=start.tx,
            cursor_id=start.id,
            created_by=actor,
        )
        await row.save()
        after = {"name": name, "url": url.strip(), "events": sorted(set(events)), "unit": unit_code or None}
        await audit.record(actor, "webhook.create", "webhook", row.id, after=after)
    return signing_secret(nonce)


async def listing() -> list[WebhookInfo]:
    rows = (
        await Webhook.select(
            *Webhook.all_columns(exclude=[Webhook.secret_nonce]), Webhook.unit.code.as_alias("unit_code")
        )
        .order_by(Webhook.id)
        .output(load_json=True)
    )
    counts = await WebhookDelivery.raw(
        'SELECT "webhook", "state", COUNT(*) AS n FROM "webhook_delivery" '
        'WHERE "state" IN (\'pending\', \'dead\') GROUP BY "webhook", "state"'
    )
    by = {(c["webhook"], c["state"]): int(c["n"]) for c in counts}
    return [
        WebhookInfo(
            r["id"],
            r["name"],
            r["url"],
            list(r["events"]),
            r["unit_code"],
            r["active"],
            r["created_by"],
            r["created_at"],
            by.get((r["id"], "pending"), 0),
            by.get((r["id"], "dead"), 0),
        )
        for r in rows
    ]


async def set_active(name: str, active: bool, *, actor: str) -> None:
    """Pause (nothing more is queued or sent) or resume a webhook; audited. Resuming sends what was queued
    and what happened meanwhile."""
    async with writing():
        row = await Webhook.select(Webhook.id, Webhook.active).where(Webhook.name == name).first()
        if row is None:
            raise WebhookError(N_("没有名为 %(name)s 的推送地址。"), name=name)
        await Webhook.update({Webhook.active: active}).where(Webhook.id == row["id"])
        action = "webhook.resume" if active else "webhook.pause"
        await audit.record(
            actor, action, "webhook", row["id"], before={"active": row["active"]}, after={"active": active}
        )


async def dead_letters(limit: int = 200) -> list[DeliveryInfo]:
    """Deliveries given up on, newest first: what the back office lists for redelivery."""
    rows = await (
        WebhookDelivery.select(
            *WebhookDelivery.all_columns(exclude=[WebhookDelivery.payload]),
            WebhookDelivery.webhook.name.as_alias("webhook_name"),
        )
        .where(WebhookDelivery.state == DeliveryState.dead)
        .order_by(WebhookDelivery.id, ascending=False)
        .limit(limit)
    )
    return [
        DeliveryInfo(
            r["id"],
            r["webhook_name"],
            r["key"],
            r["event_type"],
            r["state"],
            r["attempts"],
            r["next_attempt_at"],
            r["last_error"],
            r["created_at"],
        )
        for r in rows
    ]


async def redeliver(delivery_id: int, *, actor: str) -> None:
    """Send a dead delivery again (as soon as a worker passes), with a fresh round of attempts; audited."""
    if not 0 < delivery_id <= 2**31 - 1:  # beyond the id column (4 bytes on PostgreSQL): none such
        raise WebhookError(N_("这条推送不在失败列表中。"))
    async with writing():
        changed = await (
            WebhookDelivery.update(
                {
                    WebhookDelivery.state: DeliveryState.pending,
                    WebhookDelivery.attempts: 0,
                    WebhookDelivery.next_attempt_at: datetime.now(UTC),
                }
            )
            .where((WebhookDelivery.id == delivery_id) & (WebhookDelivery.state == DeliveryState.dead))
            .returning(WebhookDelivery.key)
        )
        if not changed:
            raise WebhookError(N_("这条推送不在失败列表中。"))
        await audit.record(
            actor, "webhook.redeliver", "webhook_delivery", delivery_id, after={"key": changed[0]["key"]}
        )


def event_type(event: Event) -> str | None:
    """The webhook event a change is, if any."""
    if event.kind == Kind.response:
        if event.status in (ResponseStatus.counted, ResponseStatus.included) and event.change in (
            Change.created,
            Change.status,
        ):
            return "response.counted"
        if event.status == ResponseStatus.excluded and event.change == Change.status:
            return "response.excluded"
    elif event.kind == Kind.case:
        if event.change == Change.created:
            return "case.opened"
        if event.change == Change.overdue:
            return "case.overdue"
        if event.change == Change.status and event.status in workflow.CLOSED_STATES:
            return "case.closed"
    elif event.kind == Kind.period and event.change == Change.status and event.status == PeriodStatus.closed:
        return "period.sealed"
    return None


async def mark_overdue(now: datetime | None = None) -> int:
    """Record, once, each open case past its close deadline (the `case.overdue` event); return how many."""
    now = now or datetime.now(UTC)
    async with writing():
        if isinstance(engine(), PostgresEngine):  # two workers' passes must not both record a case
            await engine().run_ddl(f"SELECT pg_advisory_xact_lock({_OVERDUE_LOCK_KEY})")
        marked = await ChangeEvent.select(ChangeEvent.object_id).where(
            (ChangeEvent.kind == Kind.case) & (ChangeEvent.change == Change.overdue)
        )
        late = await RatingCase.select(RatingCase.id).where(
            RatingCase.state.is_in(list(workflow.OPEN_STATES))
            & (RatingCase.close_due <= now)
            & RatingCase.id.not_in([m["object_id"] for m in marked] or [-1])
        )
        ids = sorted(r["id"] for r in late)
        await changes.record_many(Kind.case, ids, Change.overdue)
    return len(ids)


async def enqueue() -> int:
    """Queue, for every active webhook, the subscribed events after its cursor; return how many were queued."""
    queued = 0
    for hook in await Webhook.select(Webhook.id).where(Webhook.active == True):  # noqa: E712
        queued += await _enqueue_one(hook["id"])
    return queued


async def _enqueue_one(webhook_id: int) -> int:
    async with writing():
        await lock_row(Webhook, webhook_id)  # a second worker waits, then starts from the moved cursor
        hook = await Webhook.select().where(Webhook.id == webhook_id).output(load_json=True).first()
        if hook is None or not hook["active"]:
            return 0
        visible = None if hook["unit"] is None else frozenset(await units.subtree_ids(hook["unit"]))
        position = Position(hook["cursor_tx"], hook["cursor_id"])
        events = await changes.after((Kind.response, Kind.case, Kind.period), position, QUEUE_BATCH, visible=visible)
        wanted = set(hook["events"])
        rows = []
        for event in events:
            kind = event_type(event)
            if kind is not None and kind in wanted:
                key = f"{webhook_id}-{event.id}"
                body = await _body(key, kind, event)
                rows.append(
                    WebhookDelivery(
                        webhook=webhook_id, key=key, event_type=kind, payload=body, next_attempt_at=datetime.now(UTC)
                    )
                )
        if rows:
            await WebhookDelivery.insert(*rows).on_conflict(target=WebhookDelivery.key, action="DO NOTHING")
        if events:
            last = events[-1].position
            await Webhook.update({Webhook.cursor_tx: last.tx, Webhook.cursor_id: last.id}).where(
                Webhook.id == webhook_id
            )
    return len(rows)


async def _body(key: str, kind: str, event: Event) -> str:
    """The JSON body: the event and its object as it stands when queued."""
    data: Any
    if event.kind == Kind.response:
        campaign = (
            await Campaign.select(Campaign.slug, Campaign.questionnaire).where(Campaign.id == event.campaign_id).first()
        )
        assert campaign is not None  # a response's campaign is a restricted foreign key
        q = await versions.get(campaign["questionnaire"])
        record = (await exports.response_records_by_id(event.campaign_id or 0, q, [event.object_id], "zh"))[
            event.object_id
        ]
        data = {"campaign": campaign["slug"], **msgspec.to_builtins(record)}
    elif event.kind == Kind.case:
        data = msgspec.to_builtins((await records.case_records([event.object_id]))[event.object_id])
    else:
        data = (
            await AssessmentPeriod.select(
                AssessmentPeriod.slug, AssessmentPeriod.title, AssessmentPeriod.status, AssessmentPeriod.closed_at
            )
            .where(AssessmentPeriod.id == event.object_id)
            .first()
        )
    body = {"id": key, "type": kind, "occurred_at": event.at, "data": data}
    return msgspec.json.encode(body).decode()


async def deliver(client: httpx.AsyncClient, now: datetime | None = None) -> int:
    """Send the due deliveries once each; return how many the receivers took."""
    now = now or datetime.now(UTC)
    due = await (
        WebhookDelivery.select(
            WebhookDelivery.id,
            WebhookDelivery.key,
            WebhookDelivery.event_type,
            WebhookDelivery.payload,
            WebhookDelivery.attempts,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.webhook.url.as_alias("url"),
            WebhookDelivery.webhook.secret_nonce.as_alias("nonce"),
        )
        .where(
            (WebhookDelivery.state == DeliveryState.pending)
            & (WebhookDelivery.next_attempt_at <= now)
            & (WebhookDelivery.webhook.active == True)  # noqa: E712
        )
        .order_by(WebhookDelivery.id)
        .limit(SEND_BATCH)
    )
    taken = 0
    for d in due:
        claimed = await (
            WebhookDelivery.update({WebhookDelivery.next_attempt_at: now + timedelta(seconds=LEASE_S)})
            .where(
                (WebhookDelivery.id == d["id"])
                & (WebhookDelivery.state == DeliveryState.pending)
                & (WebhookDelivery.next_attempt_at == d["next_attempt_at"])
            )
            .returning(WebhookDelivery.id)
        )
        if not claimed:  # another worker has it
            continue
        error = await _post(client, d)
        attempts = d["attempts"] + 1
        if error is None:
            outcome: dict[Any, Any] = {
                WebhookDelivery.state: DeliveryState.delivered,
                WebhookDelivery.delivered_at: datetime.now(UTC),
                WebhookDelivery.last_error: "",
            }
            taken += 1
        elif attempts >= MAX_ATTEMPTS:
            outcome = {WebhookDelivery.state: DeliveryState.dead, WebhookDelivery.last_error: error}
        else:
            wait = BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1]
            outcome = {
                WebhookDelivery.next_attempt_at: now + timedelta(seconds=wait),
                WebhookDelivery.last_error: error,
            }
        await WebhookDelivery.update({**outcome, WebhookDelivery.attempts: attempts}).where(
            WebhookDelivery.id == d["id"]
        )
    return taken


async def _post(client: httpx.AsyncClient, delivery: dict[str, Any]) -> str | None:
    """POST one delivery; None when the receiver took it (2xx), else why not, in one line."""
    body = delivery["payload"].encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Minping-Webhook/1",
        "X-Minping-Event": delivery["event_type"],
        "X-Minping-Delivery": delivery["key"],
        "X-Minping-Timestamp": stamp,
        "X-Minping-Signature": signature(signing_secret(delivery["nonce"]), stamp, body),
    }
    try:
        answer = await client.post(delivery["url"], content=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    return None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"


@contextlib.asynccontextmanager
async def lifespan(_app: object) -> AsyncIterator[None]:
    """Per worker: pump every `webhook_interval_s` (MINPING_WEBHOOK_INTERVAL; 0 = never)."""
    async with periodic.every(get_settings().webhook_interval_s, pump, "delivering webhooks"):
        yield


async def pump() -> int:
    """One pass of the workers: overdue cases, queueing, delivery; return how many deliveries were taken."""
    await mark_overdue()
    await enqueue()
    async with httpx.AsyncClient(follow_redirects=False) as client:
        return await deliver(client)
