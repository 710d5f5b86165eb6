"""The embedded broker, as a subprocess on loopback, with real clients.

Every scenario runs twice: with amq_python as the client, and with python-qpid-proton (the same
handler code, since the APIs are the same) to prove the broker serves other implementations.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from tests.broker_clients import LIBRARIES, Api, run
from tests.broker_process import ROOT, BrokerProcess, running_broker


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    """One broker for the module: tests use distinct addresses."""
    with running_broker() as process:
        yield process


@pytest.fixture(params=LIBRARIES)
def api(request: pytest.FixtureRequest) -> Api:
    """The client library: amq_python, then python-qpid-proton."""
    return Api(request.param)


def address(api: Api, name: str) -> str:
    """An address unique to the test and the client library."""
    return f"{name}-{api.name}"


def test_send_then_receive_in_order(broker: BrokerProcess, api: Api) -> None:
    """Ten messages with properties are stored, then received in order and accepted."""
    queue = address(api, "basic")
    messages = [api.Message(body=f"m{i}", properties={"i": i}) for i in range(10)]
    sender = api.Client(broker.url, "p", target=queue, messages=messages)
    run(api, [sender])
    assert sender.outcomes == ["accepted"] * 10
    receiver = api.Client(broker.url, "c", source=queue, count=10)
    run(api, [receiver])
    assert [body for body, _ in receiver.received] == [f"m{i}" for i in range(10)]
    assert [m.properties for m in receiver.received_messages] == [{"i": i} for i in range(10)]


def test_competing_consumers_round_robin(broker: BrokerProcess, api: Api) -> None:
    """Two consumers with credit share a queue's messages in turn."""
    queue = address(api, "rr")
    first = api.Client(broker.url, "c1", source=queue, count=5)
    second = api.Client(broker.url, "c2", source=queue, count=5)
    messages = [api.Message(body=i) for i in range(10)]
    sender = api.Client(broker.url, "p", target=queue, messages=messages)
    run(api, [first, second], [sender])
    shares = sorted([[body for body, _ in first.received], [body for body, _ in second.received]])
    assert shares == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]


def test_credit_aware_and_unsettled_redelivered_on_close(broker: BrokerProcess, api: Api) -> None:
    """A consumer with one credit that holds its message gets no more: the other consumer gets
    the rest. When the holder closes, its unsettled message goes back (delivery count 1)."""
    queue = address(api, "credit")
    holder = api.Client(broker.url, "hold", source=queue, count=1, credit=1,
                        decide=lambda body, count, index: "hold")
    busy = api.Client(broker.url, "busy", source=queue, count=5)
    messages = [api.Message(body=i) for i in range(6)]
    sender = api.Client(broker.url, "p", target=queue, messages=messages)
    run(api, [holder, busy], [sender])
    assert len(holder.received) == 1 and holder.received[0][1] == 0
    held = holder.received[0][0]
    assert sorted([held] + [body for body, _ in busy.received]) == list(range(6))
    again = api.Client(broker.url, "again", source=queue, count=1)
    run(api, [again])
    assert again.received == [(held, 1)]
    assert_empty(api, broker, queue)


def test_release_modify_reject(broker: BrokerProcess, api: Api) -> None:
    """Released: redelivered as it was; modified (delivery failed): redelivered with its count
    raised; rejected: gone."""
    queue = address(api, "outcomes")
    plan = {("a", 0): ["release", "modify"], ("a", 1): ["accept"], ("b", 0): ["reject"]}

    def decide(body: str, count: int, index: int) -> str:
        actions = plan.get((body, count))
        return actions.pop(0) if actions else "accept"

    messages = [api.Message(body=b) for b in ("a", "b", "c", "end")]
    sender = api.Client(broker.url, "p", target=queue, messages=messages)
    receiver = api.Client(broker.url, "c", source=queue, count=6, credit=1, decide=decide)
    run(api, [sender], [receiver])
    received = receiver.received
    assert [r for r in received if r[0] == "a"] == [("a", 0), ("a", 0), ("a", 1)]
    assert sorted(r for r in received if r[0] != "a") == [("b", 0), ("c", 0), ("end", 0)]
    assert_empty(api, broker, queue)


def assert_empty(api: Api, broker: BrokerProcess, queue: str) -> None:
    """Nothing is left on ``queue``: a probe sent now is the first message received."""
    sender = api.Client(broker.url, "probe", target=queue, messages=[api.Message(body="probe")])
    receiver = api.Client(broker.url, "check", source=queue, count=1)
    run(api, [sender], [receiver])
    assert receiver.received == [("probe", 0)]


def test_dropped_consumer_redelivered(broker: BrokerProcess, api: Api) -> None:
    """A consumer process killed while holding unsettled messages: they are delivered again."""
    queue = address(api, "dropped")
    sender = api.Client(broker.url, "p", target=queue,
                        messages=[api.Message(body=i) for i in range(3)])
    run(api, [sender])
    script = textwrap.dedent(f"""
        import sys
        from tests.broker_clients import Api
        api = Api({api.name!r})
        class Holder(api.handlers.MessagingHandler):
            def __init__(self):
                super().__init__(auto_accept=False)
                self.n = 0
            def on_start(self, event):
                event.container.create_receiver({broker.url!r} + "/" + {queue!r})
            def on_message(self, event):
                self.n += 1
                if self.n == 3:
                    print("held 3", flush=True)
        api.reactor.Container(Holder()).run()
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held 3"
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    receiver = api.Client(broker.url, "c", source=queue, count=3)
    run(api, [receiver])
    assert receiver.received == [(0, 1), (1, 1), (2, 1)]
    assert_empty(api, broker, queue)


def test_browse_with_copy(broker: BrokerProcess, api: Api) -> None:
    """A browser (distribution mode copy) sees the messages; they stay for a consumer."""
    queue = address(api, "browse")
    sender = api.Client(broker.url, "p", target=queue,
                        messages=[api.Message(body=i) for i in range(3)])
    run(api, [sender])
    browser = api.Client(broker.url, "b", source=queue, count=3, options=api.reactor.Copy())
    run(api, [browser])
    assert [body for body, _ in browser.received] == [0, 1, 2]
    consumer = api.Client(broker.url, "c", source=queue, count=3)
    run(api, [consumer])
    assert consumer.received == [(0, 0), (1, 0), (2, 0)]
    assert_empty(api, broker, queue)


def test_dynamic_queue_request_response(broker: BrokerProcess, api: Api) -> None:
    """A dynamic source gets a generated address; messages sent to it come back."""
    client = api.Client(broker.url, "dyn", dynamic=True, count=2,
                        messages=[api.Message(body="ping"), api.Message(body="pong")])
    run(api, [client])
    assert client.reply_address and client.reply_address.startswith("dynamic/")
    assert [body for body, _ in client.received] == ["ping", "pong"]


def test_topic_prefix_fans_out(broker: BrokerProcess, api: Api) -> None:
    """Every subscriber of a ``topic://`` address gets every message."""
    topic = f"topic://{address(api, 'news')}"
    first = api.Client(broker.url, "s1", source=topic, count=3)
    second = api.Client(broker.url, "s2", source=topic, count=3)
    sender = api.Client(broker.url, "p", target=topic,
                        messages=[api.Message(body=i) for i in range(3)])
    run(api, [first, second], [sender])
    assert [body for body, _ in first.received] == [0, 1, 2]
    assert [body for body, _ in second.received] == [0, 1, 2]


def test_topic_capability_fans_out(broker: BrokerProcess, api: Api) -> None:
    """A plain address becomes a topic when a subscriber asks for the ``topic`` capability."""
    topic = address(api, "events")
    subscribers = [
        api.Client(broker.url, f"s{i}", source=topic, count=2, options=api.topic_capability())
        for i in range(2)
    ]
    sender = api.Client(broker.url, "p", target=topic,
                        messages=[api.Message(body=i) for i in range(2)])
    run(api, subscribers, [sender], timeout=3)
    for subscriber in subscribers:
        assert [body for body, _ in subscriber.received] == [0, 1]


def test_anonymous_relay_routes_by_message_address(broker: BrokerProcess, api: Api) -> None:
    """A sender with no target: each message goes to its own ``address``; none: rejected."""
    first, second = address(api, "relay-1"), address(api, "relay-2")
    messages = [api.Message(address=first, body="one"), api.Message(address=second, body="two"),
                api.Message(body="nowhere")]
    sender = api.Client(broker.url, "p", target=None, messages=messages)
    run(api, [sender])
    assert sorted(sender.outcomes) == ["accepted", "accepted", "rejected"]  # in any order
    [reason] = sender.rejections  # the rejection says why
    assert reason.name == "amqp:precondition-failed"
    assert "no address" in reason.description
    receivers = [api.Client(broker.url, f"c{i}", source=a, count=1)
                 for i, a in enumerate((first, second))]
    run(api, receivers)
    assert [r.received for r in receivers] == [[("one", 0)], [("two", 0)]]


def test_at_most_once_consumer_gets_presettled(broker: BrokerProcess, api: Api) -> None:
    """A consumer asking for pre-settled deliveries gets them once, and they are gone."""
    queue = address(api, "amo")
    sender = api.Client(broker.url, "p", target=queue,
                        messages=[api.Message(body=i) for i in range(2)])
    run(api, [sender])
    receiver = api.Client(broker.url, "c", source=queue, count=2,
                          options=api.reactor.AtMostOnce(), decide=lambda b, c, i: "hold")
    run(api, [receiver])
    assert receiver.received == [(0, 0), (1, 0)]
    assert_empty(api, broker, queue)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_cleanly(sig: signal.Signals) -> None:
    """SIGTERM or SIGINT closes the broker's connections and ends it with status 0."""
    process = BrokerProcess()
    try:
        api = Api("amq_python")
        client = api.Client(process.url, "p", target="q", messages=[api.Message(body=1)])
        run(api, [client])
        assert process.signal(sig) == 0
        assert "shutting down" in process.log()
        assert "Traceback" not in process.log()
    finally:
        process.stop()


def test_port_in_use_is_an_error(broker: BrokerProcess) -> None:
    """A port already taken: a message and exit status 1, no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "amq_python.broker", "--port", str(broker.port)],
        cwd=ROOT, capture_output=True, text=True, timeout=20,
    )
    assert done.returncode == 1
    assert "amq-broker:" in done.stderr and "Traceback" not in done.stderr
