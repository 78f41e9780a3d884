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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from analysis import Estimate, proportion_ci
from survey_app.tables import CaseState, RatingCase

_HANDLED = (CaseState.resolved.value, CaseState.explained.value)
_NOT_COUNTED = (CaseState.superseded.value, CaseState.excluded.value)
_OPEN = (CaseState.new.value, CaseState.verified.value, CaseState.rectifying.value)


@dataclass(frozen=True)
class CaseFigures:
    """One unit's case figures; rates are `Estimate`s (Wilson, 95 %) whose n is their denominator."""

    n: int  # cases counted
    open: int
    overdue: int  # open and past the close deadline at `as_of`
    called_back: Estimate
    on_time: Estimate
    rectified: Estimate


async def figures(
    unit_ids: list[int], start: datetime, end: datetime, as_of: datetime | None = None
) -> dict[int, CaseFigures]:
    """The figures of each unit in `unit_ids` for cases opened in [start, end), judged at `as_of` (default now)."""
    as_of = as_of or datetime.now(UTC)
    rows = await RatingCase.select(
        RatingCase.unit,
        RatingCase.state,
        RatingCase.close_due,
        RatingCase.contact_given_at,
        RatingCase.verified_at,
        RatingCase.closed_at,
    ).where(
        RatingCase.unit.is_in(list(unit_ids) or [-1]),
        RatingCase.opened_at >= start,
        RatingCase.opened_at < end,
        RatingCase.state.not_in(list(_NOT_COUNTED)),
    )
    counts = {u: [0] * 8 for u in unit_ids}
    for row in rows:
        c = counts[row["unit"]]
        handled = row["state"] in _HANDLED
        is_open = row["state"] in _OPEN
        overdue = is_open and row["close_due"] <= as_of
        c[0] += 1
        c[1] += is_open
        c[2] += overdue
        c[3] += row["contact_given_at"] is not None
        c[4] += row["contact_given_at"] is not None and row["verified_at"] is not None
        c[5] += handled or overdue  # due
        c[6] += handled and row["closed_at"] <= row["close_due"]
        c[7] += handled
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
