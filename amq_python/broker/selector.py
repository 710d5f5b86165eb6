"""JMS-style message selectors: parsed once when a consumer attaches, then a cheap test per message.

A selector is a condition over a message, such as ``colour = 'red' AND weight > 2.5``.
``compile_selector(text)`` parses it into nested closures and returns ``match(message) -> bool``;
a syntax error raises ``SelectorError`` naming the problem and its column (1-based).

What it understands (keywords are case-insensitive, identifiers are case-sensitive):

- identifiers: the message's application property of that name, or one of the JMS header names
  ``JMSMessageID`` (id), ``JMSCorrelationID`` (correlation_id), ``JMSPriority`` (priority),
  ``JMSDeliveryMode`` (``'PERSISTENT'`` if durable, else ``'NON_PERSISTENT'``), ``JMSTimestamp``
  (creation_time in milliseconds) and ``JMSType`` (subject). A missing value is NULL; so is a
  value that is not a boolean, number or string (a UUID counts as its string form).
- literals: ``'strings'`` (``''`` is a quote), integers (64-bit), decimals (``1.5``, ``.5``,
  ``2E3``), ``TRUE``, ``FALSE``.
- ``= <> < <= > >=``, ``+ - * /`` (integer division truncates), ``AND OR NOT``, ``BETWEEN``,
  ``IN ('a', ...)``, ``LIKE`` with ``%``, ``_`` and ``ESCAPE``, ``IS [NOT] NULL``, parentheses.

Logic is SQL's, three-valued: an operation on NULL, or on values of types that do not compare
(a string with a number, ordering strings or booleans), is *unknown* (``None``); ``NOT unknown``
is unknown, ``FALSE AND unknown`` is false, ``TRUE OR unknown`` is true. A message is selected
only when the whole condition is true. Evaluation never raises: division by zero and overflow
are unknown too, so a selector cannot break the broker's dispatch loop.

Hostile selectors stay cheap: ``AND``/``OR`` chains and arithmetic chains are evaluated in loops
(not as deep recursion), nesting (parentheses, ``NOT``, signs) is limited to ``MAX_DEPTH``, and
``LIKE`` patterns are matched segment by segment, with no regular-expression backtracking.
"""

from __future__ import annotations

import operator
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Union

from amq_python import Message

Value = Union[bool, int, float, str, None]  # Union: runs on Python 3.9
Expr = Callable[[Message], Value]
Selector = Callable[[Message], bool]

MAX_DEPTH = 40  # each level costs ~10 parser frames: far below the recursion limit
_LONG_LIMIT = 2**63  # magnitude of the most negative 64-bit integer
_NUMBERS = (int, float)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>'(?:[^']|'')*')
    | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>(?:[^\W\d]|\$)(?:\w|\$)*)
    | (?P<op><>|<=|>=|[=<>+\-*/(),])
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "BETWEEN", "LIKE", "IN", "IS", "ESCAPE", "NULL", "TRUE", "FALSE"}
)
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<>": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class SelectorError(ValueError):
    """A selector that does not parse: ``reason`` and ``column`` (1-based) say what and where."""

    def __init__(self, reason: str, column: int) -> None:
        super().__init__(f"{reason} at column {column}")
        self.reason = reason
        self.column = column


class _Token:
    """One lexical token: ``kind`` (string, int, float, name, keyword, op, end), its value and
    the offset where it starts."""

    __slots__ = ("kind", "value", "offset")

    def __init__(self, kind: str, value: Any, offset: int) -> None:
        self.kind = kind
        self.value = value
        self.offset = offset

    def describe(self) -> str:
        """The token as an error message quotes it."""
        return "end of selector" if self.kind == "end" else repr(str(self.value))


def _tokenize(text: str) -> list[_Token]:
    """Split ``text`` into tokens, ending with an ``end`` token."""
    tokens: list[_Token] = []
    offset = 0
    while offset < len(text):
        found = _TOKEN.match(text, offset)
        if found is None:
            char = text[offset]
            raise SelectorError(
                "unterminated string" if char == "'" else f"bad character {char!r}", offset + 1
            )
        kind = found.lastgroup
        raw = found.group()
        if kind == "string":
            tokens.append(_Token("string", raw[1:-1].replace("''", "'"), offset))
        elif kind == "number":
            tokens.append(_number(raw, offset))
        elif kind == "name":
            keyword = raw.upper()
            if keyword in _KEYWORDS:
                tokens.append(_Token("keyword", keyword, offset))
            else:
                tokens.append(_Token("name", raw, offset))
        elif kind == "op":
            tokens.append(_Token("op", raw, offset))
        offset = found.end()
    tokens.append(_Token("end", None, len(text)))
    return tokens


def _number(raw: str, offset: int) -> _Token:
    if raw.isdigit():
        value = int(raw)
        if value > _LONG_LIMIT:
            raise SelectorError(f"integer {raw} does not fit in 64 bits", offset + 1)
        return _Token("int", value, offset)
    return _Token("float", float(raw), offset)


# ----- evaluation building blocks (closures over already-compiled operands) -----


def _scalar(value: Any) -> Value:
    """A message value as the evaluator sees it: a plain bool, int, float or str, else NULL."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return None


_HEADERS: dict[str, Callable[[Message], Any]] = {
    "JMSMessageID": lambda message: message.id,
    "JMSCorrelationID": lambda message: message.correlation_id,
    "JMSPriority": lambda message: message.priority,
    "JMSDeliveryMode": lambda message: "PERSISTENT" if message.durable else "NON_PERSISTENT",
    "JMSTimestamp": lambda message: round(message.creation_time * 1000) or None,
    "JMSType": lambda message: message.subject,
}


def _identifier(name: str) -> Expr:
    header = _HEADERS.get(name)
    if header is not None:
        field = header
        return lambda message: _scalar(field(message))

    def property_value(message: Message) -> Value:
        properties = message.properties
        return _scalar(properties.get(name)) if properties else None

    return property_value


def _literal(value: Value) -> Expr:
    return lambda message: value


def _compare(symbol: str, left: Expr, right: Expr) -> Expr:
    test = _COMPARISONS[symbol]
    ordering = symbol not in ("=", "<>")

    def compare(message: Message) -> Value:
        a, b = left(message), right(message)
        if a is None or b is None:
            return None
        if type(a) in _NUMBERS and type(b) in _NUMBERS:
            return test(a, b)
        if type(a) is not type(b) or ordering:
            return None
        return test(a, b)

    return compare


def _divide(a: float, b: float) -> float:
    """Java's division: integers truncate toward zero."""
    if type(a) is int and type(b) is int:
        quotient = abs(a) // abs(b)
        return quotient if (a < 0) == (b < 0) else -quotient
    return a / b


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": _divide,
}


def _arithmetic(first: Expr, rest: Sequence[tuple[str, Expr]]) -> Expr:
    steps = [(_ARITHMETIC[symbol], operand) for symbol, operand in rest]

    def calculate(message: Message) -> Value:
        value = first(message)
        for apply, operand in steps:
            right = operand(message)
            if type(value) not in _NUMBERS or type(right) not in _NUMBERS:
                return None
            try:
                value = apply(value, right)
            except ArithmeticError:  # division by zero, float overflow
                return None
        return value

    return calculate


def _sign(operand: Expr, negative: bool) -> Expr:
    """Unary ``-`` or ``+``: a number, else unknown."""

    def signed(message: Message) -> Value:
        value = operand(message)
        if type(value) not in _NUMBERS:
            return None
        return -value if negative else value  # type: ignore[operator]

    return signed


def _logic(operands: Sequence[Expr], decisive: bool) -> Expr:
    """AND (``decisive`` False) or OR (True) in three-valued logic: ``decisive`` if any operand
    is, else unknown if any is not the other truth value, else that value."""

    def combine(message: Message) -> Value:
        result: Value = not decisive
        for operand in operands:
            value = operand(message)
            if value is decisive:
                return decisive
            if value is not result and result is not None:
                result = None
        return result

    return combine


def _all(operands: Sequence[Expr]) -> Expr:
    """AND: false if any is false, else unknown if any is not true."""
    return _logic(operands, False)


def _any(operands: Sequence[Expr]) -> Expr:
    """OR: true if any is true, else unknown if any is not false."""
    return _logic(operands, True)


def _not(operand: Expr) -> Expr:
    def negation(message: Message) -> Value:
        value = operand(message)
        return not value if type(value) is bool else None

    return negation


def _is_null(operand: Expr, negated: bool) -> Expr:
    return lambda message: (operand(message) is None) != negated


def _in(operand: Expr, choices: frozenset[str]) -> Expr:
    def member(message: Message) -> Value:
        value = operand(message)
        return value in choices if type(value) is str else None

    return member


def _like(operand: Expr, pattern: str, escape: str | None, column: int) -> Expr:
    """``LIKE``: the pattern is cut at each unescaped ``%`` into fixed-length segments (``_``
    matches any one character); the first segment must start the value, the last end it, and
    the others are found leftmost in order between them."""
    segments: list[list[str | None]] = [[]]
    chars = iter(pattern)
    for char in chars:
        if char == escape:
            literal = next(chars, None)
            if literal is None:
                raise SelectorError("LIKE pattern ends with its escape character", column)
            segments[-1].append(literal)
        elif char == "%":
            segments.append([])
        else:
            segments[-1].append(None if char == "_" else char)
    compiled = [
        re.compile("".join("." if c is None else re.escape(c) for c in segment), re.DOTALL)
        for segment in segments
    ]
    first, last, middle = compiled[0], compiled[-1], compiled[1:-1]
    head, tail = len(segments[0]), len(segments[-1])

    def matches(value: str) -> bool:
        if len(compiled) == 1:
            return first.fullmatch(value) is not None
        end = len(value) - tail
        if end < head or not first.match(value) or not last.fullmatch(value, end):
            return False
        position = head
        for segment in middle:
            found = segment.search(value, position, end)
            if found is None:
                return False
            position = found.end()
        return True

    def like(message: Message) -> Value:
        value = operand(message)
        return matches(value) if type(value) is str else None

    return like


# ----- the parser -----

# Each parse step returns (expression, kind): kind is "condition" (a boolean operation or
# literal), "number", "string" or "any" (an identifier, or parentheses around one): enough to
# reject "1 + 2" as a selector or "'a' * 2" as arithmetic when parsing.
_Parsed = tuple[Expr, str]


class _Parser:
    """Recursive descent over the tokens; precedence, lowest first: OR, AND, NOT, comparisons
    (and BETWEEN, IN, LIKE, IS NULL), + -, * /, signs."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    # -- token helpers --

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def _accept(self, kind: str, value: Any = None) -> _Token | None:
        token = self.token
        if token.kind == kind and (value is None or token.value == value):
            self.index += 1
            return token
        return None

    def _expect(self, kind: str, value: Any, what: str) -> _Token:
        token = self._accept(kind, value)
        if token is None:
            raise self._error(f"expected {what}")
        return token

    def _error(self, expected: str, token: _Token | None = None) -> SelectorError:
        token = token or self.token
        return SelectorError(f"{expected}, found {token.describe()}", token.offset + 1)

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SelectorError(f"nested more than {MAX_DEPTH} deep", self.token.offset + 1)

    @staticmethod
    def _require(parsed: _Parsed, kinds: tuple[str, ...], what: str, token: _Token) -> Expr:
        expression, kind = parsed
        if kind not in kinds:
            raise SelectorError(f"expected {what}, found a {kind}", token.offset + 1)
        return expression

    # -- grammar --

    def parse(self) -> Expr:
        start = self.token
        condition = self._require(self._or(), ("condition", "any"), "a condition", start)
        if self.token.kind != "end":
            raise self._error("expected AND, OR or the end")
        return condition

    def _logical(self, keyword: str, operand: Callable[[], _Parsed],
                 combine: Callable[[Sequence[Expr]], Expr]) -> _Parsed:
        start = self.token
        first = operand()
        if self.token.kind != "keyword" or self.token.value != keyword:
            return first
        operands = [self._require(first, ("condition", "any"), "a condition", start)]
        while self._accept("keyword", keyword):
            start = self.token
            operands.append(self._require(operand(), ("condition", "any"), "a condition", start))
        return combine(operands), "condition"

    def _or(self) -> _Parsed:
        return self._logical("OR", self._and, _any)

    def _and(self) -> _Parsed:
        return self._logical("AND", self._negation, _all)

    def _negation(self) -> _Parsed:
        if not self._accept("keyword", "NOT"):
            return self._predicate()
        self._nest()
        start = self.token
        operand = self._require(self._negation(), ("condition", "any"), "a condition", start)
        self.depth -= 1
        return _not(operand), "condition"

    def _predicate(self) -> _Parsed:
        left, kind = self._additive()
        token = self.token
        if token.kind == "op" and token.value in _COMPARISONS:
            self.index += 1
            right, _ = self._additive()
            return _compare(token.value, left, right), "condition"
        if self._accept("keyword", "IS"):
            negated = self._accept("keyword", "NOT") is not None
            self._expect("keyword", "NULL", "NULL")
            return _is_null(left, negated), "condition"
        negated = self._accept("keyword", "NOT") is not None
        if self._accept("keyword", "BETWEEN"):
            low, _ = self._additive()
            self._expect("keyword", "AND", "AND")
            high, _ = self._additive()
            test = _all([_compare(">=", left, low), _compare("<=", left, high)])
        elif self._accept("keyword", "IN"):
            test = _in(left, self._choices())
        elif self._accept("keyword", "LIKE"):
            test = self._like(left)
        elif negated:
            raise self._error("expected BETWEEN, IN or LIKE after NOT")
        else:
            return left, kind
        return (_not(test) if negated else test), "condition"

    def _choices(self) -> frozenset[str]:
        self._expect("op", "(", "'(' to open the IN list")
        choices = {self._string("a string in the IN list")}
        while self._accept("op", ","):
            choices.add(self._string("a string in the IN list"))
        self._expect("op", ")", "',' or ')' in the IN list")
        return frozenset(choices)

    def _like(self, operand: Expr) -> Expr:
        pattern_token = self.token
        pattern = self._string("a string pattern after LIKE")
        escape = None
        if self._accept("keyword", "ESCAPE"):
            escape_token = self.token
            escape = self._string("an escape character")
            if len(escape) != 1:
                raise SelectorError("the ESCAPE string must be one character",
                                    escape_token.offset + 1)
        return _like(operand, pattern, escape, pattern_token.offset + 1)

    def _string(self, what: str) -> str:
        token = self._accept("string")
        if token is None:
            raise self._error(f"expected {what}")
        return str(token.value)

    def _chain(self, symbols: tuple[str, ...], operand: Callable[[], _Parsed]) -> _Parsed:
        start = self.token
        first = operand()
        if self.token.kind != "op" or self.token.value not in symbols:
            return first
        number = ("number", "any")
        rest: list[tuple[str, Expr]] = []
        head = self._require(first, number, "a number", start)
        while self.token.kind == "op" and self.token.value in symbols:
            symbol = self.token.value
            self.index += 1
            start = self.token
            rest.append((symbol, self._require(operand(), number, "a number", start)))
        return _arithmetic(head, rest), "number"

    def _additive(self) -> _Parsed:
        return self._chain(("+", "-"), self._multiplicative)

    def _multiplicative(self) -> _Parsed:
        return self._chain(("*", "/"), self._signed)

    def _signed(self) -> _Parsed:
        sign = self._accept("op", "+") or self._accept("op", "-")
        if sign is None:
            return self._primary()
        self._nest()
        start = self.token
        operand = self._require(self._signed(), ("number", "any"), "a number", start)
        self.depth -= 1
        return _sign(operand, sign.value == "-"), "number"

    def _primary(self) -> _Parsed:
        token = self.token
        self.index += 1
        if token.kind == "string":
            return _literal(token.value), "string"
        if token.kind in ("int", "float"):
            return _literal(token.value), "number"
        if token.kind == "name":
            return _identifier(token.value), "any"
        if token.kind == "keyword" and token.value in ("TRUE", "FALSE"):
            return _literal(token.value == "TRUE"), "condition"
        if token.kind == "op" and token.value == "(":
            self._nest()
            inner = self._or()
            self._expect("op", ")", "')'")
            self.depth -= 1
            return inner
        raise self._error("expected a value", token)


def compile_selector(text: str) -> Selector:
    """Parse ``text``; the result tells whether a message is selected (the condition is true).
    Raises ``SelectorError`` if the selector does not parse."""
    condition = _Parser(text).parse()
    return lambda message: condition(message) is True
