"""JMS message selectors: the evaluator on its own, then the broker filtering for real clients.

The unit tests check each operator, SQL's three-valued logic (a missing property is NULL, and an
unknown condition does not select), LIKE with ESCAPE, and syntax errors with their columns. The
broker scenarios run a broker subprocess and clients on loopback, once with amq_python and once
with python-qpid-proton (the same handler code, ``reactor.Selector`` from each library).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from amq_python import Described, Message, symbol
from amq_python.broker.selector import MAX_DEPTH, SelectorError, compile_selector
from tests.broker_clients import LIBRARIES, Api, run
from tests.broker_process import BrokerProcess, running_broker

pytestmark = pytest.mark.timeout(60)
SELECTOR_NAME = "apache.org:selector-filter:string"

SAMPLE = Message(
    properties={"colour": "red", "weight": 2.5, "count": 7, "flag": True, "name": "a_b%c",
                "quote": "it's", "nothing": None, "blob": b"\x00"},
    id="msg-1", correlation_id=uuid.UUID(int=1), priority=7, durable=True, subject="order",
    creation_time=1700000000.123,
)


def select(text: str, message: Message = SAMPLE) -> bool:
    """Whether the selector ``text`` selects ``message``."""
    return compile_selector(text)(message)


# ----- the evaluator -----


@pytest.mark.parametrize("text, expected", [
    ("colour = 'red'", True), ("colour = 'blue'", False), ("colour <> 'blue'", True),
    ("count < 8", True), ("count <= 7", True), ("count > 7", False), ("count >= 7", True),
    ("weight = 2.5", True), ("count = 7.0", True), ("quote = 'it''s'", True),
    ("flag = TRUE", True), ("flag", True), ("NOT flag", False), ("flag = false", False),
    ("count + 1 = 8", True), ("count - 10 = -3", True), ("count * 2 = 14", True),
    ("count / 2 = 3", True), ("-count / 2 = -3", True), ("count / 2.0 = 3.5", True),
    ("1 + 2 * 3 = 7", True), ("(1 + 2) * 3 = 9", True), ("+count = 7", True),
    ("2E1 = 20", True), (".5 = 0.5", True),
    ("count BETWEEN 7 AND 9", True), ("count BETWEEN 8 AND 9", False),
    ("count NOT BETWEEN 8 AND 9", True),
    ("colour IN ('blue', 'red')", True), ("colour NOT IN ('blue', 'red')", False),
    ("colour IN ('blue')", False),
    ("colour = 'red' AND count = 7", True), ("colour = 'red' and count = 8", False),
    ("colour = 'blue' OR count = 7", True), ("colour = 'blue' OR count = 8", False),
    ("NOT (colour = 'blue')", True), ("colour = 'red' AND (count = 8 OR weight > 2)", True),
    ("missing IS NULL", True), ("colour IS NULL", False), ("colour IS NOT NULL", True),
    ("nothing IS NULL", True), ("blob IS NULL", True),
])
def test_operators(text: str, expected: bool) -> None:
    """Each operator, literal form and precedence rule gives the expected result."""
    assert select(text) is expected


@pytest.mark.parametrize("text, expected", [
    ("JMSMessageID = 'msg-1'", True), ("JMSCorrelationID = '00000000-0000-0000-0000-000000000001'",
                                       True),
    ("JMSPriority = 7", True), ("JMSDeliveryMode = 'PERSISTENT'", True),
    ("JMSTimestamp = 1700000000123", True), ("JMSType = 'order'", True),
])
def test_jms_header_names(text: str, expected: bool) -> None:
    """The JMS header names read the message's header and properties fields."""
    assert select(text) is expected


def test_jms_header_defaults() -> None:
    """A plain message: NON_PERSISTENT, priority 4, no timestamp, type or id."""
    plain = Message()
    assert select("JMSDeliveryMode = 'NON_PERSISTENT' AND JMSPriority = 4", plain)
    assert select("JMSTimestamp IS NULL AND JMSType IS NULL AND JMSMessageID IS NULL", plain)


@pytest.mark.parametrize("text", [
    "missing = 1", "missing <> 1", "NOT missing = 1", "missing + 1 = 1", "-missing = 1",
    "missing BETWEEN 1 AND 2", "missing NOT BETWEEN 1 AND 2", "missing IN ('a')",
    "missing NOT IN ('a')", "missing LIKE 'a%'", "missing NOT LIKE 'a%'",
    "colour = 1", "colour < 's'", "flag < TRUE", "count LIKE '7'", "count IN ('7')",
    "count / 0 = 1", "colour", "NOT colour", "missing AND TRUE", "missing OR FALSE",
    "NOT (missing = 1 AND TRUE)",
])
def test_unknown_is_not_selected(text: str) -> None:
    """NULL operands and mismatched types make the condition unknown: not selected, and
    ``NOT unknown`` is unknown too."""
    assert select(text) is False


def test_three_valued_logic_short_circuits() -> None:
    """FALSE AND unknown is false (so NOT of it is true); TRUE OR unknown is true."""
    assert select("NOT (missing = 1 AND FALSE)")
    assert select("missing = 1 OR TRUE")
    assert select("NOT (missing = 1 OR FALSE)") is False


@pytest.mark.parametrize("pattern, value, expected", [
    ("a%", "abc", True), ("%c", "abc", True), ("%b%", "abc", True), ("a_c", "abc", True),
    ("a_c", "abbc", False), ("abc", "abc", True), ("ab", "abc", False), ("%", "", True),
    ("a%b%c", "axxbyyc", True), ("a%b%c", "acb", False), ("%a%a%", "aa", True),
    ("%a%a%", "a", False), ("a%%c", "ac", True), ("_%_", "a", False),
    ("a\nb", "a\nb", True), ("a_b", "a\nb", True), ("a.*", "abc", False),
])
def test_like(pattern: str, value: str, expected: bool) -> None:
    """``%`` is any run, ``_`` any one character (newlines too); nothing else is special."""
    message = Message(properties={"v": value})
    escaped = pattern.replace("'", "''")
    assert select(f"v LIKE '{escaped}'", message) is expected
    assert select(f"v NOT LIKE '{escaped}'", message) is not expected


def test_like_escape() -> None:
    """ESCAPE makes the next ``%``, ``_`` or escape character literal."""
    assert select("name LIKE 'a!_b!%c' ESCAPE '!'")  # name is a_b%c
    assert not select("name LIKE 'a!_b!%' ESCAPE '!'")
    assert select("name LIKE '%!%%' ESCAPE '!'")
    assert select("v LIKE 'x!!y' ESCAPE '!'", Message(properties={"v": "x!y"}))
    assert not select("v LIKE 'a!_c' ESCAPE '!'", Message(properties={"v": "abc"}))


def test_like_is_linear_on_hostile_patterns() -> None:
    """A pattern with many ``%`` against a long non-matching value still answers at once."""
    message = Message(properties={"v": "a" * 20000})
    assert not select("v LIKE '" + "%a" * 50 + "%b'", message)


def test_long_chains_do_not_recurse() -> None:
    """Thousands of ANDs or additions evaluate in loops, not deep recursion."""
    message = Message(properties={"a": 1})
    assert select(" AND ".join(["a = 1"] * 3000), message)
    assert select(" OR ".join(["a = 2"] * 3000) + " OR a = 1", message)
    assert select(" + ".join(["a"] * 3000) + " = 3000", message)


def test_keywords_case_insensitive_identifiers_not() -> None:
    """``and``/``Between``/``null`` work in any case; ``Colour`` is another property."""
    assert select("colour = 'red' and count between 1 and 9 and missing is null")
    assert not select("Colour = 'red'")


def test_overflow_is_unknown() -> None:
    """Huge intermediate values never raise in the broker: they are unknown."""
    big = " * ".join(["9223372036854775807"] * 40)
    assert not select(f"{big} * 1.5 > 0")


@pytest.mark.parametrize("text, reason, column", [
    ("colour = ", "expected a value, found end of selector", 10),
    ("colour = 'red", "unterminated string", 10),
    ("colour # 1", "bad character '#'", 8),
    ("colour = 'red' blue", "expected AND, OR or the end, found 'blue'", 16),
    ("1 + 2", "expected a condition, found a number", 1),
    ("a = 1 AND 'x'", "expected a condition, found a string", 11),
    ("'a' * 2 = 1", "expected a number, found a string", 1),
    ("a + TRUE = 1", "expected a number, found a condition", 5),
    ("a NOT = 1", "expected BETWEEN, IN or LIKE after NOT, found '='", 7),
    ("a BETWEEN 1 OR 2", "expected AND, found 'OR'", 13),
    ("a IN 'x'", "expected '(' to open the IN list, found 'x'", 6),
    ("a IN ('x', 1)", "expected a string in the IN list, found '1'", 12),
    ("a IN ('x'", "expected ',' or ')' in the IN list, found end of selector", 10),
    ("a LIKE b", "expected a string pattern after LIKE, found 'b'", 8),
    ("a LIKE 'x' ESCAPE '!!'", "the ESCAPE string must be one character", 19),
    ("a LIKE 'x!' ESCAPE '!'", "LIKE pattern ends with its escape character", 8),
    ("a IS 1", "expected NULL, found '1'", 6),
    ("(a = 1", "expected ')', found end of selector", 7),
    ("a = 99999999999999999999", "integer 99999999999999999999 does not fit in 64 bits", 5),
    ("", "expected a value, found end of selector", 1),
    ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} deep",
     MAX_DEPTH + 2),
    ("NOT " * (MAX_DEPTH + 1) + "a", f"nested more than {MAX_DEPTH} deep", 4 * MAX_DEPTH + 5),
])
def test_syntax_errors_name_reason_and_column(text: str, reason: str, column: int) -> None:
    """A selector that does not parse raises SelectorError with the reason and 1-based column."""
    with pytest.raises(SelectorError) as raised:
        compile_selector(text)
    assert (raised.value.reason, raised.value.column) == (reason, column)
    assert str(raised.value) == f"{reason} at column {column}"


# ----- the broker, with real clients -----


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    """One broker for the module: tests use distinct addresses."""
    with running_broker() as process:
        yield process


@pytest.fixture(params=LIBRARIES)
def api(request: pytest.FixtureRequest) -> Api:
    """The client library: amq_python, then python-qpid-proton."""
    return Api(request.param)


def coloured(api: Api, colours: str) -> list[Any]:
    """Messages ``0:red``, ``1:blue``... with a ``colour`` property, one per letter r/g/b."""
    names = {"r": "red", "g": "green", "b": "blue"}
    return [api.Message(body=f"{i}:{names[c]}", properties={"colour": names[c]})
            for i, c in enumerate(colours)]


def bodies(client: Any) -> list[Any]:
    """What a client received, in order."""
    return [body for body, _ in client.received]


def red_only(api: Api) -> Any:
    """The receiver option ``Selector("colour = 'red'")`` of the client's library."""
    return api.reactor.Selector("colour = 'red'")


def test_selector_consumer_gets_only_matches_rest_stays(broker: BrokerProcess, api: Api) -> None:
    """A consumer with ``colour = 'red'`` gets only the red messages, as they arrive; the others
    stay on the queue, in order, and a consumer without a selector then gets them."""
    queue = f"sel-compete-{api}"
    red = api.Client(broker.url, "red", source=queue, count=3, options=red_only(api))
    sender = api.Client(broker.url, "p", target=queue, messages=coloured(api, "rbrgbr"))
    run(api, [red], [sender])
    assert bodies(red) == ["0:red", "2:red", "5:red"]
    plain = api.Client(broker.url, "plain", source=queue, count=3)
    run(api, [plain])
    assert plain.received == [("1:blue", 0), ("3:green", 0), ("4:blue", 0)]


def test_selector_skips_stored_messages(broker: BrokerProcess, api: Api) -> None:
    """Stored messages: the selective consumer takes the matching ones from behind the others,
    and competes with a plain consumer only for what it matches."""
    queue = f"sel-stored-{api}"
    run(api, [api.Client(broker.url, "p", target=queue, messages=coloured(api, "bbrbr"))])
    red = api.Client(broker.url, "red", source=queue, count=2, options=red_only(api))
    run(api, [red])
    assert bodies(red) == ["2:red", "4:red"]
    plain = api.Client(broker.url, "plain", source=queue, count=3)
    run(api, [plain])
    assert bodies(plain) == ["0:blue", "1:blue", "3:blue"]


def test_released_message_goes_back_for_the_next_match(broker: BrokerProcess,
                                                        api: Api) -> None:
    """A selective consumer that releases a message gives it back; the next selective consumer
    gets it again, still skipping the others."""
    queue = f"sel-release-{api}"
    run(api, [api.Client(broker.url, "p", target=queue, messages=coloured(api, "brb"))])
    first = api.Client(broker.url, "r1", source=queue, count=1, options=red_only(api),
                       decide=lambda body, count, index: "release")
    run(api, [first])
    second = api.Client(broker.url, "r2", source=queue, count=1, options=red_only(api))
    run(api, [second])
    assert bodies(first) == bodies(second) == ["1:red"]
    plain = api.Client(broker.url, "plain", source=queue, count=2)
    run(api, [plain])
    assert bodies(plain) == ["0:blue", "2:blue"]


def test_browser_with_selector(broker: BrokerProcess, api: Api) -> None:
    """A browser (Copy) with a selector sees only the matches; everything stays queued."""
    queue = f"sel-browse-{api}"
    run(api, [api.Client(broker.url, "p", target=queue, messages=coloured(api, "rbgr"))])
    browser = api.Client(broker.url, "b", source=queue, count=2,
                         options=[api.reactor.Copy(), red_only(api)])
    run(api, [browser])
    assert bodies(browser) == ["0:red", "3:red"]
    plain = api.Client(broker.url, "plain", source=queue, count=4)
    run(api, [plain])
    assert bodies(plain) == ["0:red", "1:blue", "2:green", "3:red"]


def test_topic_subscriber_with_selector(broker: BrokerProcess, api: Api) -> None:
    """On a topic, a subscriber with a selector gets copies of the matches only."""
    topic = f"topic://sel-news-{api}"
    red = api.Client(broker.url, "red", source=topic, count=2, options=red_only(api))
    plain = api.Client(broker.url, "all", source=topic, count=4)
    sender = api.Client(broker.url, "p", target=topic, messages=coloured(api, "rbbr"))
    run(api, [red, plain], [sender])
    assert bodies(red) == ["0:red", "3:red"]
    assert bodies(plain) == ["0:red", "1:blue", "2:blue", "3:red"]


def test_selector_by_numeric_descriptor(broker: BrokerProcess, api: Api) -> None:
    """The selector filter may be described by its code (0x468C00000004) under any key."""
    queue = f"sel-ulong-{api}"
    core = api.core
    option = api.reactor.Filter({core.symbol("my-filter"): core.Described(
        core.ulong(0x0000468C00000004), "colour IN ('green')")})
    green = api.Client(broker.url, "green", source=queue, count=1, options=option)
    sender = api.Client(broker.url, "p", target=queue, messages=coloured(api, "rg"))
    run(api, [green], [sender])
    assert bodies(green) == ["1:green"]
    assert_drained(api, broker, queue, ["0:red"])


def assert_drained(api: Api, broker: BrokerProcess, queue: str, expected: list[Any]) -> None:
    """A plain consumer takes exactly ``expected`` from ``queue``."""
    plain = api.Client(broker.url, "plain", source=queue, count=len(expected))
    run(api, [plain])
    assert bodies(plain) == expected


def test_filter_echoed_in_attach(broker: BrokerProcess, api: Api) -> None:
    """The broker's answering source carries the selector it applies, under the client's key,
    and drops filters it does not apply."""
    seen: dict[str, Any] = {}

    class Echo(api.Client):  # type: ignore[name-defined]
        def on_link_opened(self, event: Any) -> None:
            if event.link.is_receiver:
                data = event.link.remote_source.filter
                data.rewind()
                data.next()
                seen["filter"] = data.get_object()
            super().on_link_opened(event)

    core = api.core
    option = api.reactor.Filter({
        core.symbol("sel"): core.Described(core.symbol("apache.org:selector-filter:string"),
                                           "colour = 'red'"),
        core.symbol("other"): core.Described(core.symbol("example:unknown-filter"), "x"),
    })
    client = Echo(broker.url, "echo", source=f"sel-echo-{api}", count=0, options=option)
    run(api, [client])
    (key, value), = seen["filter"].items()
    assert key == "sel"
    assert (value.descriptor, value.value) == ("apache.org:selector-filter:string",
                                               "colour = 'red'")


@pytest.mark.parametrize("selector, reason", [
    ("colour = ", "expected a value, found end of selector at column 10"),
    ("colour LIKE 5", "expected a string pattern after LIKE, found '5' at column 13"),
])
def test_bad_selector_refused(broker: BrokerProcess, api: Api, selector: str,
                              reason: str) -> None:
    """A selector that does not parse: the broker refuses the link with amqp:invalid-field
    and says what is wrong and where."""
    client = api.Client(broker.url, "bad", source=f"sel-bad-{api}", count=1,
                        options=api.reactor.Selector(selector))
    with pytest.raises(AssertionError):  # run() fails the scenario on the client's link error
        run(api, [client])
    assert client.errors
    for error in client.errors:  # the client may report the detach more than once
        assert "amqp:invalid-field" in error
        assert f"invalid selector: {reason}" in error
    assert "refused" in broker.log()


def hostile_filter(api: Api, write: Any) -> Any:
    """A receiver option that writes the source's filter with ``write(data)``."""

    class RawFilter(api.reactor.ReceiverOption):  # type: ignore[name-defined]
        def apply(self, receiver: Any) -> None:
            write(receiver.source.filter)

    return RawFilter()


def _list_key_map(data: Any) -> None:
    data.put_map()
    data.enter()
    data.put_list()
    data.enter()
    data.put_int(1)
    data.exit()
    data.put_string("x")
    data.exit()


@pytest.mark.parametrize("write, reason", [
    (lambda data: data.put_string("colour = 'red'"), "the source's filter is not a map"),
    (_list_key_map, "the source's filter is not a map"),
    (lambda data: data.put_object({"a": Described(symbol(SELECTOR_NAME), "a = 1"),
                                   "b": Described(symbol(SELECTOR_NAME), "b = 1")}),
     "more than one selector in the filter"),
    (lambda data: data.put_object({"a": Described(symbol(SELECTOR_NAME), 5)}),
     "the selector is not a string"),
], ids=["string", "list-key", "two-selectors", "not-a-string"])
def test_unusable_filter_refused(broker: BrokerProcess, write: Any, reason: str) -> None:
    """Filter maps the broker cannot apply are refused with amqp:invalid-field, and the broker
    keeps serving."""
    api = Api("amq_python")
    client = api.Client(broker.url, "bad", source="sel-hostile", count=1,
                        options=hostile_filter(api, write))
    with pytest.raises(AssertionError):  # run() fails the scenario on the client's link error
        run(api, [client])
    assert client.errors
    for error in client.errors:
        assert "amqp:invalid-field" in error and reason in error
    run(api, [api.Client(broker.url, "p", target="sel-hostile", messages=[api.Message(body=1)])])
    assert_drained(api, broker, "sel-hostile", [1])
