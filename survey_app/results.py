"""Computed results kept per worker, keyed by the data they read: a score page costs what it shows.

A campaign report, a unit page or an open period's league table is computed from every counted
response; recomputing it on every view made each view cost as much as all the answers ever given
(issue 17). Here a result is kept with the change counters of the data it read, and a view that
finds the counters unchanged gets it without touching a response.

The counters (table `data_version`, migration 0018) are bumped by database triggers in the
transaction of every change to a campaign's responses, cases, units list or row, and to any unit
(whose names every report shows): no write path, however it writes, can leave a stale result. The
counters are read before the data, so a result is never filed under counters newer than what it
read; at worst a change committed in between is filed under the older counters, and the next view
(which reads the newer ones) computes again. Results that also depend on the clock (a league table
with case rates: an open case becomes overdue when its deadline passes) say until when they hold.

Each worker keeps its own `MAX_ENTRIES` results; two views that miss together in one worker
compute once. A database restored from a backup under a running server must be followed by a
restart (docs/operations.md), as counters can then go back.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Hashable
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any, TypeVar

from survey_app import campaigns, units
from survey_app.reporting import campaign_report, unit_report
from survey_app.tables import Unit

T = TypeVar("T")

MAX_ENTRIES = 64  # a report of 1,000 units is a few MB: a worker stays far below its memory budget
EVERY_UNIT = 0  # the counter row of changes to units (names, kinds, the tree), which every result shows


@dataclasses.dataclass(frozen=True)
class Expiring:
    """A result that holds until `until` (None: until its data changes)."""

    value: Any
    until: datetime | None


_entries: OrderedDict[Hashable, Expiring] = OrderedDict()
_computing: dict[tuple[int, Hashable], asyncio.Future[Expiring]] = {}


def clear() -> None:
    """Forget every result (tests, which delete and restore rows; production never needs it)."""
    _entries.clear()


async def versions(campaign_ids: Collection[int], *, everything: bool = False) -> tuple[int, ...]:
    """The change counters of these campaigns and of the units, or with `everything` the sum of all."""
    if everything:
        rows = await Unit.raw('SELECT COALESCE(SUM("version"), 0) AS v FROM "data_version"')
        return (int(rows[0]["v"]),)
    ids = sorted({EVERY_UNIT, *campaign_ids})
    rows = await Unit.raw(
        'SELECT "campaign", SUM("version") AS v FROM "data_version" WHERE "campaign" IN ('
        + ", ".join("{}" for _ in ids)
        + ') GROUP BY "campaign"',
        *ids,
    )
    found = {int(r["campaign"]): int(r["v"]) for r in rows}
    return tuple(found.get(i, 0) for i in ids)


async def cached(key: Hashable, compute: Callable[[], Awaitable[Expiring]]) -> Any:
    """The result filed under `key` (which must hold the counters read before), computing it when missing."""
    now = datetime.now(UTC)
    entry = _entries.get(key)
    if entry is not None and (entry.until is None or now < entry.until):
        _entries.move_to_end(key)
        return entry.value
    loop = asyncio.get_running_loop()
    running = _computing.get((id(loop), key))
    if running is None:
        running = _computing[id(loop), key] = asyncio.ensure_future(compute())
        running.add_done_callback(lambda _: _computing.pop((id(loop), key), None))
    entry = await asyncio.shield(running)
    _entries[key] = entry
    _entries.move_to_end(key)
    while len(_entries) > MAX_ENTRIES:
        _entries.popitem(last=False)
    return entry.value


async def campaign_report_of(
    slug: str, channels: Collection[str] | None = None, *, rule: campaign_report.SampleRule
) -> campaign_report.Report:
    """`campaign_report.build(slug, channels, rule=rule)`, from the cache while the campaign's data is unchanged.

    :raise campaign_report.ReportError: as `build` does.
    """
    campaign = await campaigns.by_slug(slug)
    if campaign is None:
        raise campaign_report.ReportError(f"no campaign {slug!r}")
    chosen = None if channels is None else tuple(channels)
    key = ("campaign", campaign.id, chosen, repr(rule), await versions([campaign.id]))

    async def compute() -> Expiring:
        return Expiring(await campaign_report.build(slug, chosen, rule=rule), None)

    report: campaign_report.Report = await cached(key, compute)
    return report


async def unit_page_of(
    campaign_slug: str, unit_code: str, visible: AbstractSet[int] | None, rule: campaign_report.SampleRule
) -> unit_report.UnitPage | None:
    """`unit_report.build(…)`, from the cache while the campaign's (and the compared campaign's) data is
    unchanged; the member's scope is checked first, as `build` does, so the cached page is the whole one."""
    unit = await units.by_code(unit_code)
    campaign = await campaigns.by_slug(campaign_slug)
    if unit is None or campaign is None or (visible is not None and unit.id not in visible):
        return None
    previous = await campaigns.previous_for_unit(campaign.id, unit.id)
    read = [campaign.id] + ([previous.id] if previous else [])
    key = ("unit", campaign.id, unit.id, tuple(read), repr(rule), await versions(read))

    async def compute() -> Expiring:
        return Expiring(await unit_report.build(campaign_slug, unit_code, None, rule), None)

    page: unit_report.UnitPage | None = await cached(key, compute)
    return page
