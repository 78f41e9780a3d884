"""Case figures per unit over a period: call-back rate, on-time rate and rectified rate, each with
its n and a Wilson interval, for the case list and for assessment schemes.

Definitions (cases opened in [start, end), leaving out cases superseded by a revision and cases
excluded by an upheld appeal, which are not bad ratings any more):

- call-back rate (回访率) = cases called back (reached `verified`) / cases whose resident left a
  number: residents answer anonymously, so only they can be called back;
- on-time rate (按时办结率) = cases resolved or explained by their deadline / cases due, where a
  case is due once it is closed or its deadline has passed at `as_of` (an open overdue case counts
  as late; an open case within its deadline is not judged yet);
- rectified rate (整改办结率) = cases resolved or explained / all cases (explaining is the proper
  close when there is nothing to fix, as in the 好差评 rules).

Every figure is judged **as the cases stood at `as_of`**: a case opened after it does not exist
yet, a case closed (or excluded, or superseded) after it was still open, a call-back made after it
was not made. A sealed assessment period therefore gets the same figures from `verify` years later,
while the cases have moved on (`rows_as_of` is what it seals, `tally` what it computes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analysis import Estimate, proportion_ci
from survey_app.tables import CaseState, RatingCase

_HANDLED = (CaseState.resolved.value, CaseState.explained.value)
_NOT_COUNTED = (CaseState.superseded.value, CaseState.excluded.value)


@dataclass(frozen=True)
class CaseFigures:
    """One unit's case figures; rates are `Estimate`s (Wilson, 95 %) whose n is their denominator."""

    n: int  # cases counted
    open: int
    overdue: int  # open and past the close deadline at `as_of`
    called_back: Estimate
    on_time: Estimate
    rectified: Estimate


@dataclass(frozen=True)
class CaseAsOf:
    """One case as it stood at `as_of`: what the figures read, and what a sealed period hashes."""

    id: int
    unit: int
    close_due: datetime
    contact_given: bool
    called_back: bool
    handled: bool  # resolved or explained by `as_of`
    closed_at: datetime | None  # when handled, else None

    def sealed(self) -> list[Any]:
        """The row in the plain form a period's data hash reads (UTC ISO times)."""
        closed = None if self.closed_at is None else _utc(self.closed_at)
        return [self.id, self.unit, _utc(self.close_due), self.contact_given, self.called_back, self.handled, closed]


async def figures_of(
    unit_ids: list[int],
    start: datetime,
    end: datetime,
    as_of: datetime | None = None,
    campaign_ids: list[int] | None = None,
) -> dict[int, CaseFigures]:
    """The figures of each unit in `unit_ids` for cases opened in [start, end), judged at `as_of` (default now);
    with `campaign_ids`, only cases of those campaigns' ratings."""
    as_of = as_of or datetime.now(UTC)
    return tally(await rows_as_of(unit_ids, start, end, as_of, campaign_ids), unit_ids, as_of)


async def rows_as_of(
    unit_ids: list[int], start: datetime, end: datetime, as_of: datetime, campaign_ids: list[int] | None = None
) -> list[CaseAsOf]:
    """The counted cases of these units opened in [start, end) and by `as_of`, as they stood then, by id."""
    query = RatingCase.select(
        RatingCase.id,
        RatingCase.unit,
        RatingCase.state,
        RatingCase.opened_at,
        RatingCase.close_due,
        RatingCase.contact_given_at,
        RatingCase.verified_at,
        RatingCase.closed_at,
    ).where(
        RatingCase.unit.is_in(list(unit_ids) or [-1]),
        RatingCase.opened_at >= start,
        RatingCase.opened_at < end,
        RatingCase.opened_at <= as_of,
    )
    if campaign_ids is not None:
        query = query.where(RatingCase.campaign.is_in(list(campaign_ids) or [-1]))
    cases = []
    for row in await query.order_by(RatingCase.id):
        closed_by_then = row["closed_at"] is not None and row["closed_at"] <= as_of
        if row["state"] in _NOT_COUNTED and (row["closed_at"] is None or closed_by_then):
            continue  # not a bad rating any more (when it left the count after as_of, it still counted then)
        handled = row["state"] in _HANDLED and closed_by_then
        cases.append(
            CaseAsOf(
                id=row["id"],
                unit=row["unit"],
                close_due=row["close_due"],
                contact_given=row["contact_given_at"] is not None and row["contact_given_at"] <= as_of,
                called_back=row["verified_at"] is not None and row["verified_at"] <= as_of,
                handled=handled,
                closed_at=row["closed_at"] if handled else None,
            )
        )
    return cases


def tally(cases: Iterable[CaseAsOf], unit_ids: list[int], as_of: datetime) -> dict[int, CaseFigures]:
    """Each unit's figures from its cases as they stood at `as_of` (units without cases: n = 0, rates NaN)."""
    counts = {u: [0] * 8 for u in unit_ids}
    for case in cases:
        c = counts[case.unit]
        overdue = not case.handled and case.close_due <= as_of
        c[0] += 1
        c[1] += not case.handled
        c[2] += overdue
        c[3] += case.contact_given
        c[4] += case.contact_given and case.called_back
        c[5] += case.handled or overdue  # due
        c[6] += case.handled and case.closed_at is not None and case.closed_at <= case.close_due
        c[7] += case.handled
    return {
        unit: CaseFigures(
            n=n,
            open=open_,
            overdue=overdue,
            called_back=proportion_ci(called, contacts),
            on_time=proportion_ci(in_time, due),
            rectified=proportion_ci(handled, n),
        )
        for unit, (n, open_, overdue, contacts, called, due, in_time, handled) in counts.items()
    }


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()
