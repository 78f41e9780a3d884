"""XLSForm expressions (`relevant`, `constraint`) to and from Minping conditions and constraints.

The tokens come from pyxform's own lexer (`pyxform.parsing.expression.parse_expression`); this module
only parses the small part of XPath that Minping can hold: `and`, `or`, `not()`, comparisons of an
item (`${q}`) or of `.` with a literal, `selected()`, `string-length(.)`, `regex(., …)` and
`count-selected(.)`. Anything else raises `Unsupported` with the reason, which the import reports:
a condition is never approximated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from pyxform.parsing.expression import parse_expression

from survey_app.questionnaires.conditions import Condition

FLIP = {"=": "=", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


class Unsupported(ValueError):
    """The expression uses something Minping cannot hold; the message says what."""


@dataclass(frozen=True)
class Node:
    kind: str  # or, and, not, cmp, call, ref, self, lit, num
    value: Any = None
    args: tuple[Node, ...] = ()


def parse(text: str) -> Node:
    """The expression as a tree of the supported forms."""
    try:
        tokens = [t for t in parse_expression(text) if t.type != "WHITESPACE"]
    except Exception as exc:  # noqa: BLE001 - the lexer's own errors vary; the reason is reported
        raise Unsupported(f"cannot read the expression ({exc})") from None
    parser = _Parser(tokens)
    try:
        node = parser.expression()
    except RecursionError:
        raise Unsupported("nested too deeply") from None
    if parser.pos != len(tokens):
        raise Unsupported(f"unexpected {tokens[parser.pos].value!r}")
    return node


class _Parser:
    def __init__(self, tokens: list[Any]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> Any:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Any:
        token = self.peek()
        if token is None:
            raise Unsupported("the expression ends too early")
        self.pos += 1
        return token

    def _word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.type in ("OPS_BOOL", "NAME") and token.value.strip() == word

    def expression(self) -> Node:
        parts = [self.conjunction()]
        while self._word("or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Node("or", args=tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.comparison()]
        while self._word("and"):
            self.take()
            parts.append(self.comparison())
        return parts[0] if len(parts) == 1 else Node("and", args=tuple(parts))

    def comparison(self) -> Node:
        left = self.operand()
        token = self.peek()
        if token is not None and token.type == "OPS_COMP":
            op = self.take().value.strip()
            following = self.peek()
            if op in ("<", ">") and following is not None and following.type == "OPS_COMP" and following.value == "=":
                self.take()  # the lexer reads "<=" and ">=" as two tokens
                op += "="
            return Node("cmp", op, (left, self.operand()))
        return left

    def operand(self) -> Node:
        token = self.take()
        if token.type == "OPEN_PAREN":
            inner = self.expression()
            self._close()
            return inner
        if token.type == "PYXFORM_REF":
            return Node("ref", token.value[2:-1])
        if token.type == "SELF_REF":
            return Node("self")
        if token.type == "SYSTEM_LITERAL":
            return Node("lit", token.value[1:-1])
        if token.type == "NUMBER":
            return Node("num", float(token.value))
        if token.type == "FUNC_CALL":
            name = token.value[:-1].strip()
            args: list[Node] = []
            if self.peek() is not None and self.peek().type == "CLOSE_PAREN":
                self.take()
            else:
                args.append(self.expression())
                while self.peek() is not None and self.peek().type == "COMMA":
                    self.take()
                    args.append(self.expression())
                self._close()
            if name == "not":
                if len(args) != 1:
                    raise Unsupported("not() takes one argument")
                return Node("not", args=(args[0],))
            return Node("call", name, tuple(args))
        raise Unsupported(f"{token.value.strip()!r} is not supported here")

    def _close(self) -> None:
        token = self.take()
        if token.type != "CLOSE_PAREN":
            raise Unsupported(f"expected ')' but found {token.value!r}")


# --- relevant -> Condition ----------------------------------------------------------------------

#: Turns (item name, literal as written) into the value Minping stores, or raises Unsupported.
ValueOf = Callable[[str, str], Any]
#: The Minping type of an item by its XLSForm name (None: not an item Minping kept).
TypeOf = Callable[[str], str | None]


def condition(text: str, type_of: TypeOf, value_of: ValueOf, rename: Callable[[str], str]) -> Condition:
    """A `relevant` expression as a Minping condition."""
    return condition_of_tree(parse(text), type_of, value_of, rename)


def condition_of_tree(node: Node, type_of: TypeOf, value_of: ValueOf, rename: Callable[[str], str]) -> Condition:
    """A parsed expression (from XLSForm, or LimeSurvey's relevance turned into the same tree) as a condition."""
    try:
        return _condition(node, type_of, value_of, rename)
    except RecursionError:
        raise Unsupported("nested too deeply") from None


def _condition(node: Node, type_of: TypeOf, value_of: ValueOf, rename: Callable[[str], str]) -> Condition:
    if node.kind in ("or", "and"):
        parts = [_condition(a, type_of, value_of, rename) for a in node.args]
        if node.kind == "or":
            merged = _merge_is(parts)
            return merged if merged is not None else Condition(any=parts)
        return Condition(all=parts)
    if node.kind == "not":
        inner = _condition(node.args[0], type_of, value_of, rename)
        if inner.item is not None and inner.answered is not None and inner.is_ is None and not inner.comparisons:
            return Condition(item=inner.item, answered=not inner.answered)  # not(is_empty(x)): x answered
        return Condition(not_=inner)
    if node.kind == "call" and node.value == "selected" and len(node.args) == 2:
        ref, lit = node.args
        if ref.kind != "ref" or lit.kind not in ("lit", "num"):
            raise Unsupported("selected() of something other than a question and a choice")
        kind = _known(ref.value, type_of)
        value = value_of(ref.value, _literal(lit))
        if kind == "multi":
            return Condition(item=rename(ref.value), any_of=[str(value)])
        return Condition(item=rename(ref.value), is_=[value])
    if node.kind == "cmp":
        left, right = node.args
        op = node.value
        if right.kind == "ref" and left.kind != "ref":
            left, right, op = right, left, FLIP[op]
        if left.kind != "ref" or right.kind not in ("lit", "num"):
            raise Unsupported("only a question compared with a value is supported")
        name, kind = left.value, _known(left.value, type_of)
        literal = _literal(right)
        item = rename(name)
        if literal == "" and op in ("=", "!="):
            return Condition(item=item, answered=op == "!=")
        if kind == "multi":
            raise Unsupported(f"comparing the multiple-choice question {name!r} (use selected())")
        if op in ("=", "!="):
            test = Condition(item=item, is_=[value_of(name, literal)])
            return test if op == "=" else Condition(not_=test)
        if kind == "number":
            bound = _number(literal)
            return msgspec.convert({"item": item, OPS[op]: bound}, Condition)
        # On a list (rating or choice), a comparison of the choice names is the set of names it keeps.
        return Condition(item=item, is_=_values_passing(name, op, _number(literal), value_of))
    if node.kind == "call":
        raise Unsupported(f"the function {node.value}() is not supported in a condition")
    raise Unsupported("not a condition")


def _merge_is(parts: list[Condition]) -> Condition | None:
    """`${q} = 'a' or ${q} = 'b'` as one test `{item: q, is: [a, b]}`."""
    items = {p.item for p in parts}
    only_is = all(p.is_ is not None and p.item and not p.comparisons and p.any_of is None for p in parts)
    if len(items) == 1 and only_is:
        return Condition(item=parts[0].item, is_=[v for p in parts for v in p.values])
    return None


def _values_passing(name: str, op: str, bound: float, value_of: ValueOf) -> list[Any]:
    names = getattr(value_of, "names", None)
    if names is None:
        raise Unsupported("a comparison on a list")
    passing = []
    for choice in names(name):
        try:
            number = float(choice)
        except ValueError:
            raise Unsupported(f"comparing the choice {choice!r} of {name!r} with a number") from None
        if {"<": number < bound, "<=": number <= bound, ">": number > bound, ">=": number >= bound}[op]:
            passing.append(value_of(name, choice))
    if not passing:
        raise Unsupported(f"no choice of {name!r} passes the comparison")
    return passing


def _known(name: str, type_of: TypeOf) -> str:
    kind = type_of(name)
    if kind is None:
        raise Unsupported(f"${{{name}}} is not a question Minping kept (or not an earlier one)")
    return kind


def _literal(node: Node) -> str:
    if node.kind == "num":
        return _plain(node.value)
    return str(node.value)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise Unsupported(f"{text!r} is not a number") from None


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# --- constraint -> Minping constraints ----------------------------------------------------------


def constraints(text: str, kind: str) -> dict[str, Any]:
    """A `constraint` as Minping fields (min, max, min_length, max_length, pattern, min_choices, max_choices)."""
    node = parse(text)
    parts = node.args if node.kind == "and" else (node,)
    found: dict[str, Any] = {}
    for part in parts:
        for key, value in _constraint(part, kind).items():
            if key in found:
                raise Unsupported(f"{key} is given twice")
            found[key] = value
    return found


def _constraint(node: Node, kind: str) -> dict[str, Any]:
    if node.kind == "call" and node.value == "regex" and len(node.args) == 2:
        target, pattern = node.args
        if target.kind != "self" or pattern.kind != "lit" or kind != "text":
            raise Unsupported("regex() other than regex(., 'pattern') on a text question")
        return {"pattern": pattern.value}
    if node.kind != "cmp":
        raise Unsupported("only comparisons joined by 'and' are supported in a constraint")
    left, right = node.args
    op = node.value
    if right.kind in ("self", "call") and left.kind in ("num", "lit"):
        left, right, op = right, left, FLIP[op]
    if right.kind not in ("num", "lit") or op not in (">=", "<=", "<", ">"):
        raise Unsupported("only ., string-length(.) or count-selected(.) compared with a number is supported")
    bound = _number(_literal(right))
    measure = {"self": "value"}.get(left.kind)
    if left.kind == "call" and left.value in ("string-length", "count-selected") and _is_self(left.args):
        measure = left.value
    if measure is None:
        raise Unsupported("the constraint tests something other than the answer")
    if op in ("<", ">"):  # strict: exact only for whole counts and lengths
        if measure == "value" or not bound.is_integer():
            raise Unsupported(f"'{op}' (a strict bound) cannot be held; Minping bounds are inclusive")
        bound, op = (bound - 1, "<=") if op == "<" else (bound + 1, ">=")
    field = {
        ("value", ">="): "min",
        ("value", "<="): "max",
        ("string-length", ">="): "min_length",
        ("string-length", "<="): "max_length",
        ("count-selected", ">="): "min_choices",
        ("count-selected", "<="): "max_choices",
    }[(measure, op)]
    expected = {"min": "number", "max": "number", "min_length": "text", "max_length": "text"}.get(field, "multi")
    if kind not in (expected, "longtext" if expected == "text" else expected):
        raise Unsupported(f"{field} does not apply to a {kind} question")
    return {field: bound if field in ("min", "max") else int(bound)}


def _is_self(args: tuple[Node, ...]) -> bool:
    return len(args) == 1 and args[0].kind == "self"


# --- Minping -> XPath (export) ---------------------------------------------------------------------


def of_condition(c: Condition, form_value: Callable[[str, Any], str], kind_of: Callable[[str], str]) -> str:
    """A condition as an XLSForm `relevant` expression."""
    if c.all is not None:
        return " and ".join(f"({of_condition(p, form_value, kind_of)})" for p in c.all)
    if c.any is not None:
        return " or ".join(f"({of_condition(p, form_value, kind_of)})" for p in c.any)
    if c.not_ is not None:
        return f"not({of_condition(c.not_, form_value, kind_of)})"
    ref = f"${{{c.item}}}"
    kind = kind_of(c.item or "")
    tests = []
    if c.answered is not None:
        tests.append(f"{ref} != ''" if c.answered else f"{ref} = ''")
    if c.is_ is not None:
        values = [_xpath_value(form_value(c.item or "", v), kind) for v in c.values]
        tests.append(" or ".join(f"{ref} = {v}" for v in values))
    if c.any_of is not None:
        tests.append(" or ".join(f"selected({ref}, '{v}')" for v in c.any_of))
    for op, bound in c.comparisons.items():
        symbol = {v: k for k, v in OPS.items()}[op]
        tests.append(f"{ref} {symbol} {_plain(bound)}")
    return " and ".join(f"({t})" if " or " in t and len(tests) > 1 else t for t in tests)


def _xpath_value(value: str, kind: str) -> str:
    return value if kind == "number" else f"'{value}'"


def of_constraints(fields: dict[str, Any]) -> str:
    """Minping constraints as an XLSForm `constraint` expression (empty when there are none)."""
    parts = []
    for field, (measure, op) in {
        "min": (".", ">="),
        "max": (".", "<="),
        "min_length": ("string-length(.)", ">="),
        "max_length": ("string-length(.)", "<="),
        "min_choices": ("count-selected(.)", ">="),
        "max_choices": ("count-selected(.)", "<="),
    }.items():
        if fields.get(field) is not None:
            parts.append(f"{measure} {op} {_plain(fields[field])}")
    if fields.get("pattern") is not None:
        quote = '"' if "'" in fields["pattern"] else "'"
        parts.append(f"regex(., {quote}{fields['pattern']}{quote})")
    return " and ".join(parts)
