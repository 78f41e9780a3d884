"""Conditions (`when:`) on items and groups: the structure, and how answers are tested against it.

A condition is either a test of one earlier item or a combination of conditions:

    {item: used, is: true}                       the answer is one of the values (a list) or the value
    {item: age, ge: 60}                          comparisons on numbers and rating levels: lt, le, gt, ge
    {item: reasons, any_of: [health, elderly]}   a multi item with any of these options ticked
    {item: phone, answered: true}                answered (or not)
    {all: [...]}, {any: [...]}, {not: {...}}

A test of several comparisons holds when all of them do (`{item: n, ge: 1, le: 3}`). An unanswered
item (or "don't know") passes no comparison and no `is`, so `{not: …}` of such a test holds. The
same function decides on the server (hidden answers are dropped), in the preview, and in the
analysis of who was asked.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

import msgspec

Value = int | str | bool


class Condition(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """When an item or a group is shown: a test of one earlier item, or all/any/not of conditions."""

    item: str | None = None
    is_: Value | list[Value] | None = msgspec.field(default=None, name="is")
    any_of: list[str] | None = None
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None
    answered: bool | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = msgspec.field(default=None, name="not")

    @property
    def comparisons(self) -> dict[str, float]:
        found = {"lt": self.lt, "le": self.le, "gt": self.gt, "ge": self.ge}
        return {op: v for op, v in found.items() if v is not None}

    @property
    def values(self) -> list[Value]:
        """The values of `is`, as a list."""
        if self.is_ is None:
            return []
        return list(self.is_) if isinstance(self.is_, list) else [self.is_]


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type: in Python True == 1, but a yes/no answer must never match rating 1."""
    return type(a) is type(b) and a == b


_COMPARE = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def holds(condition: Condition, answers: Mapping[str, Any]) -> bool:
    """Whether `condition` holds for these answers (absent = unanswered)."""
    if condition.all is not None:
        return all(holds(c, answers) for c in condition.all)
    if condition.any is not None:
        return any(holds(c, answers) for c in condition.any)
    if condition.not_ is not None:
        return not holds(condition.not_, answers)
    answer = answers.get(condition.item or "")
    if condition.answered is not None and (answer is not None) != condition.answered:
        return False
    if condition.is_ is not None and not any(same(v, answer) for v in condition.values):
        return False
    if condition.any_of is not None:
        ticked = answer if isinstance(answer, list) else []
        if not any(v in ticked for v in condition.any_of):
            return False
    return compares(answer, condition.comparisons)


def compares(value: Any, comparisons: Mapping[str, float]) -> bool:
    """Whether a number or level passes every comparison (no answer, "don't know" and yes/no never do)."""
    if not comparisons:
        return True
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return all(_COMPARE[op](value, bound) for op, bound in comparisons.items())


def may_hold(condition: Condition, answers: Mapping[str, Any], open_items: Collection[str]) -> bool | None:
    """Like `holds`, while the items in `open_items` may still be answered: None when the answer to
    come decides (three-valued: False and anything is False, True or anything is True)."""
    if condition.all is not None or condition.any is not None:
        results = [may_hold(c, answers, open_items) for c in condition.all or condition.any or []]
        decisive = condition.any is not None  # True decides an `any`, False an `all`
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    if condition.not_ is not None:
        inner = may_hold(condition.not_, answers, open_items)
        return None if inner is None else not inner
    if condition.item in open_items and condition.item not in answers:
        return None
    return holds(condition, answers)


def referred(condition: Condition) -> Iterator[str]:
    """The ids of the items the condition tests."""
    if condition.item is not None:
        yield condition.item
    for part in [*(condition.all or []), *(condition.any or []), *([condition.not_] if condition.not_ else [])]:
        yield from referred(part)


def shape_error(condition: Condition) -> str | None:
    """A structural mistake (`path: message`, path relative to the condition), or None."""
    combinators = [name for name in ("all", "any", "not_") if getattr(condition, name) is not None]
    tests = condition.is_, condition.any_of, condition.answered, *condition.comparisons.values()
    if condition.item is None:
        if len(combinators) != 1 or any(t is not None for t in tests):
            return ": give either item (with is, any_of, lt, le, gt, ge or answered) or one of all, any, not"
    else:
        if combinators:
            return ": a test of one item cannot also hold all, any or not"
        if all(t is None for t in tests):
            return ": say what to test: is, any_of, lt, le, gt, ge or answered"
    for name in ("all", "any"):
        parts = getattr(condition, name)
        if parts is not None:
            if not parts:
                return f".{name}: needs at least one condition"
            for n, part in enumerate(parts):
                error = shape_error(part)
                if error:
                    return f".{name}.{n}{error}"
    if condition.not_ is not None:
        error = shape_error(condition.not_)
        if error:
            return f".not{error}"
    return None
