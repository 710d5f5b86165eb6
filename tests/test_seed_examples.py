"""Every example of the seed's sections 5.1 to 5.3, run against a real peer on loopback.

The peer is ``tests/peer_script.py`` on amq_python (our own ``Container.listen()``), in a
subprocess on a free 127.0.0.1 port; the seed's example.com URLs become ``peer.url``. Each
handler is written the way the seed writes it, and each test asserts what a user would check.
"""

from __future__ import annotations

import traceback
import uuid

import pytest

from amq_python import ACCEPTED, REJECTED, Delivery, Endpoint, Message
from amq_python.handlers import MessagingHandler, Reject, Release
from amq_python.reactor import Container
from tests.helpers import Peer, has_ipv6, run

ATTRIBUTES = ("container", "connection", "session", "link", "sender", "receiver", "delivery",
              "message", "transport")


def present(event) -> set[str]:
    """The names of the event attributes that are not None."""
    return {name for name in ATTRIBUTES if getattr(event, name) is not None}


# ----- 5.1.1 Handling messaging events -----


def test_handling_messaging_events():
    """on_start, then on_sendable once credit arrives, then on_message for what was sent."""

    class ExampleHandler(MessagingHandler):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_start(self, event):
            self.calls.append("on_start")
            conn = event.container.connect(peer.url)
            event.container.create_sender(conn, "jobs")
            event.container.create_receiver(conn, "jobs")

        def on_sendable(self, event):
            if "on_sendable" not in self.calls:
                self.calls.append("on_sendable")
                event.sender.send(Message("job"))

        def on_message(self, event):
            self.calls.append("on_message")
            event.connection.close()

    with Peer() as peer:
        handler = ExampleHandler()
        run(Container(handler))
        assert handler.calls == ["on_start", "on_sendable", "on_message"]
        assert peer.records("closed") == [1]


def test_event_attributes_are_none_where_not_applicable():
    """Seed 5.1.1: each attribute is the object the event is about, None where irrelevant."""

    class ExampleHandler(MessagingHandler):
        def __init__(self):
            super().__init__()
            self.seen = {}
            self.events = {}

        def record(self, name, event):
            self.seen.setdefault(name, present(event))
            self.events.setdefault(name, {
                "container": event.container, "connection": event.connection,
                "sender": event.sender, "receiver": event.receiver,
            })

        def on_start(self, event):
            self.record("on_start", event)
            self.conn = event.container.connect(peer.url)
            self.sender = event.container.create_sender(self.conn, "jobs")
            self.receiver = event.container.create_receiver(self.conn, "jobs")

        def on_connection_opened(self, event):
            self.record("on_connection_opened", event)

        def on_session_opened(self, event):
            self.record("on_session_opened", event)

        def on_sendable(self, event):
            if "on_sendable" not in self.seen:
                self.record("on_sendable", event)
                event.sender.send(Message("job"))

        def on_accepted(self, event):
            self.record("on_accepted", event)

        def on_message(self, event):
            self.record("on_message", event)
            self.body = event.message.body
            event.connection.close()

    with Peer() as peer:
        handler = ExampleHandler()
        container = Container(handler)
        run(container)

    endpoint = {"container", "connection", "transport"}
    assert handler.seen == {
        "on_start": {"container"},
        "on_connection_opened": endpoint,
        "on_session_opened": endpoint | {"session"},
        "on_sendable": endpoint | {"session", "link", "sender"},
        "on_accepted": endpoint | {"session", "link", "sender", "delivery"},
        "on_message": endpoint | {"session", "link", "receiver", "delivery", "message"},
    }
    events = handler.events
    assert all(e["container"] is container for e in events.values())
    assert events["on_sendable"]["sender"] is handler.sender
    assert events["on_message"]["receiver"] is handler.receiver
    assert events["on_message"]["connection"] is handler.conn
    assert handler.body == "job"


# ----- 5.1.2 Creating a container -----


class OpenAndClose(MessagingHandler):
    """Connects to ``url`` and closes the connection once it is open."""

    def __init__(self, url):
        super().__init__()
        self.url = url
        self.opened = 0

    def on_start(self, event):
        event.container.connect(self.url)

    def on_connection_opened(self, event):
        self.opened += 1
        event.connection.close()


def test_container_with_handler_generates_uuid_id():
    """Container(handler): the id is a generated UUID, and the peer receives it in Open."""
    with Peer() as peer:
        handler = OpenAndClose(peer.url)
        container = Container(handler)
        run(container)
        assert handler.opened == 1
        assert str(uuid.UUID(container.container_id)) == container.container_id
        assert peer.records("opened")[0]["remote_container"] == container.container_id
    assert Container(handler).container_id != container.container_id


def test_container_identity_reaches_the_peer():
    """Container(handler, "job-processor-3"): the peer sees that id in the Open frame."""
    with Peer() as peer:
        container = Container(OpenAndClose(peer.url), "job-processor-3")
        assert container.container_id == "job-processor-3"
        run(container)
        assert peer.records("opened")[0]["remote_container"] == "job-processor-3"


# ----- 5.2.1 Connection URLs, 5.2.2 Creating outgoing connections -----


def test_creating_outgoing_connections(capsys):
    """connect() in on_start; on_connection_opened gets the very connection connect() returned."""

    class ExampleHandler(MessagingHandler):
        def on_start(self, event):
            self.connection = event.container.connect(peer.url)

        def on_connection_opened(self, event):
            print("Connection", event.connection, "is open")
            self.opened = event.connection
            event.connection.close()

    with Peer() as peer:
        handler = ExampleHandler()
        run(Container(handler))
        assert handler.opened is handler.connection
        assert "is open" in capsys.readouterr().out
        assert peer.records("closed") == [1]


@pytest.mark.skipif(not has_ipv6(), reason="this machine has no ::1")
def test_listen_and_connect_on_ipv6():
    """amqp://[::1]:port works for listen() and connect() (seed 5.2.1's IPv6 form)."""
    with Peer(host="::1") as peer:
        assert peer.url.startswith("amqp://[::1]:")
        handler = OpenAndClose(peer.url)
        run(Container(handler))
        assert handler.opened == 1
        assert peer.records("closed") == [1]


def test_our_listener_on_ipv6_in_process():
    """listen("amqp://[::1]:0") and a client to it, both in one container."""
    if not has_ipv6():
        pytest.skip("this machine has no ::1")

    class SelfConnect(MessagingHandler):
        def on_start(self, event):
            self.acceptor = event.container.listen("amqp://[::1]:0")
            event.container.connect(f"amqp://[::1]:{self.acceptor.port}")

        def on_connection_opened(self, event):
            self.remote = event.connection.remote_container
            event.connection.close()

        def on_connection_closed(self, event):
            self.acceptor.close()

    handler = SelfConnect()
    container = Container(handler, "v6")
    run(container)
    assert handler.remote == "v6"


@pytest.mark.parametrize(
    "url", ["amqp://127.0.0.1:notaport", "amqp://[::1:5672", "amqp://host:99999"]
)
def test_malformed_url_raises_value_error_naming_it(url):
    container = Container()
    with pytest.raises(ValueError) as info:
        container.connect(url, reconnect=False)
    assert url in str(info.value)


def test_unknown_connect_option_raises_type_error_naming_it():
    container = Container()
    with pytest.raises(TypeError, match="bogus_option"):
        container.connect("amqp://127.0.0.1:5672", bogus_option=1)


def test_heartbeat_is_sent_in_open_and_keeps_idle_connection_open():
    """heartbeat=0.5 puts an idle-time-out in Open; the listener then keeps the idle
    connection alive with empty frames, so it is still open after 2 s of silence."""

    class Idle(MessagingHandler):
        def __init__(self):
            super().__init__()
            self.problems = []

        def on_start(self, event):
            self.conn = event.container.connect(peer.url, heartbeat=0.5, reconnect=False)

        def on_connection_opened(self, event):
            event.container.schedule(2.2, self)

        def on_timer_task(self, event):
            self.state = self.conn.state
            self.conn.close()

        def on_disconnected(self, event):
            self.problems.append("disconnected")

        def on_transport_error(self, event):
            self.problems.append(f"transport error {event.transport.condition}")

    with Peer() as peer:
        handler = Idle()
        run(Container(handler), timeout=6)
        assert handler.problems == []
        assert handler.state == Endpoint.LOCAL_ACTIVE | Endpoint.REMOTE_ACTIVE
        # The engine advertises half the local idle timeout, so the peer's heartbeats arrive in
        # time; python-qpid-proton sends the same 250 ms for heartbeat=0.5.
        assert peer.records("opened")[0]["remote_idle_timeout"] == 0.25


# ----- 5.3.1 Sending, 5.3.2 Tracking sent messages -----


def test_sending_messages():
    class ExampleHandler(MessagingHandler):
        message_body = "job 1"

        def on_start(self, event):
            conn = event.container.connect(peer.url)
            self.sender = event.container.create_sender(conn, "jobs")

        def on_sendable(self, event):
            if event.sender.credit and not getattr(self, "sent", False):
                message = Message(self.message_body)
                event.sender.send(message)
                self.sent = True

        def on_accepted(self, event):
            event.connection.close()

    with Peer() as peer:
        run(Container(ExampleHandler()))
        bodies = [m["body"] for m in peer.records("message")]
        assert bodies == [["str", "job 1"]]


def test_tracking_sent_messages_maps_outcomes_to_the_delivery_send_returned():
    """on_accepted / on_rejected carry the very Delivery object send() returned (5.3.2)."""

    class ExampleHandler(MessagingHandler):
        def __init__(self):
            super().__init__()
            self.sent = {}
            self.outcomes = {}

        def on_start(self, event):
            conn = event.container.connect(peer.url)
            event.container.create_sender(conn, "jobs")

        def on_sendable(self, event):
            for body, outcome in (("good", "accept"), ("bad", "reject")):
                if body not in self.sent:
                    message = Message(body, properties={"outcome": outcome})
                    delivery = event.sender.send(message)
                    self.sent[body] = delivery

        def on_accepted(self, event):
            self.outcomes[event.delivery] = ("accepted", event.delivery.remote_state)
            self.finish(event)

        def on_rejected(self, event):
            self.outcomes[event.delivery] = ("rejected", event.delivery.remote_state)
            self.finish(event)

        def finish(self, event):
            if len(self.outcomes) == 2:
                event.connection.close()

    with Peer() as peer:
        handler = ExampleHandler()
        run(Container(handler))
    good, bad = handler.sent["good"], handler.sent["bad"]
    assert isinstance(good, Delivery)
    assert handler.outcomes[good] == ("accepted", ACCEPTED)
    assert handler.outcomes[bad] == ("rejected", REJECTED)
    keys = list(handler.outcomes)
    assert any(k is good for k in keys) and any(k is bad for k in keys)


# ----- 5.3.3 Receiving, 5.3.4 Acknowledging -----


class FillThenReceive(MessagingHandler):
    """Sends ``bodies`` to "jobs" on the peer, then receives from "jobs" (the seed's receiver)."""

    def __init__(self, url, bodies, **options):
        super().__init__(**options)
        self.url = url
        self.bodies = list(bodies)
        self.received = []
        self.settled_sends = 0

    def on_start(self, event):
        self.conn = event.container.connect(self.url)
        self.sender = event.container.create_sender(self.conn, "jobs")

    def on_sendable(self, event):
        while event.sender.credit and self.bodies:
            event.sender.send(Message(self.bodies.pop(0)))

    def on_accepted(self, event):
        self.settled_sends += 1
        if self.settled_sends == self.expected_sends:
            self.receiver = event.container.create_receiver(self.conn, "jobs")

    def done_after(self, count, event):
        if len(self.received) == count:
            event.connection.close()


def test_receiving_messages():
    class ExampleHandler(FillThenReceive):
        expected_sends = 3

        def on_message(self, event):
            print("Received message", event.message, "from", event.receiver)
            assert event.receiver is self.receiver
            self.received.append(event.message.body)
            self.done_after(3, event)

    with Peer() as peer:
        handler = ExampleHandler(peer.url, ["a", "b", "c"])
        run(Container(handler))
        assert handler.received == ["a", "b", "c"]
        assert peer.outcomes() == {"a": "accepted", "b": "accepted", "c": "accepted"}


def process_message(message):
    if message.body == "bad":
        raise ValueError("cannot process")


def test_acknowledging_received_messages_explicitly():
    """auto_accept=False and update(ACCEPTED) / update(REJECTED): the sender sees each outcome."""

    class ExampleHandler(FillThenReceive):
        expected_sends = 3

        def on_message(self, event):
            try:
                process_message(event.message)
                event.delivery.update(ACCEPTED)
            except Exception:
                event.delivery.update(REJECTED)
            self.received.append(event.message.body)
            self.done_after(3, event)

    with Peer() as peer:
        handler = ExampleHandler(peer.url, ["ok 1", "bad", "ok 2"], auto_accept=False)
        run(Container(handler))
        assert handler.received == ["ok 1", "bad", "ok 2"]
        assert peer.outcomes() == {"ok 1": "accepted", "bad": "rejected", "ok 2": "accepted"}


def test_no_acknowledgement_without_auto_accept():
    """With auto_accept=False and no update(), the peer sees no outcome at all."""

    class ExampleHandler(FillThenReceive):
        expected_sends = 2

        def on_message(self, event):
            self.received.append(event.message.body)
            self.done_after(2, event)

    with Peer() as peer:
        handler = ExampleHandler(peer.url, ["x", "y"], auto_accept=False)
        run(Container(handler))
        assert handler.received == ["x", "y"]
        assert peer.outcomes() == {}


def test_raising_reject_and_release_in_on_message():
    """Reject -> the sender's on_rejected; Release -> the sender's on_released."""

    class ExampleHandler(FillThenReceive):
        expected_sends = 3

        def on_message(self, event):
            self.received.append(event.message.body)
            self.done_after(3, event)
            if event.message.body == "reject me":
                raise Reject()
            if event.message.body == "release me":
                raise Release()

    with Peer() as peer:
        handler = ExampleHandler(peer.url, ["reject me", "release me", "fine"])
        run(Container(handler))
        assert peer.outcomes() == {
            "reject me": "rejected", "release me": "released", "fine": "accepted"
        }


def test_prefetch_controls_receiver_credit():
    """prefetch=N grants N credit; prefetch=0 grants none, so only flow(2) brings 2 of 5."""

    class ExampleHandler(FillThenReceive):
        expected_sends = 5

        def on_link_opened(self, event):
            if event.receiver is not None:
                self.initial_credit = event.receiver.credit
                if self.manual:
                    event.receiver.flow(2)
                event.container.schedule(0.3, self)

        def on_message(self, event):
            self.received.append(event.message.body)

        def on_timer_task(self, event):
            self.conn.close()

    with Peer() as peer:
        handler = ExampleHandler(peer.url, "abcde", prefetch=3)
        handler.manual = False
        run(Container(handler))
        assert handler.initial_credit == 3
        assert handler.received == list("abcde")
    with Peer() as peer:
        handler = ExampleHandler(peer.url, "abcde", prefetch=0)
        handler.manual = True
        run(Container(handler))
        assert handler.initial_credit == 0
        assert handler.received == ["a", "b"]


# ----- timers, errors -----


def test_schedule_fires_timer_task_and_cancel_prevents_it():
    class Timers(MessagingHandler):
        def __init__(self):
            super().__init__()
            self.fired = []

        def on_start(self, event):
            self.kept = event.container.schedule(0.05, Named("kept", self.fired))
            self.cancelled = event.container.schedule(0.05, Named("cancelled", self.fired))
            self.cancelled.cancel()
            event.container.schedule(0.2, self)

        def on_timer_task(self, event):
            self.fired.append("own")

    class Named:
        def __init__(self, name, log):
            self.name, self.log = name, log

        def on_timer_task(self, event):
            self.log.append(self.name)

    handler = Timers()
    run(Container(handler))
    assert handler.fired == ["kept", "own"]


def test_exception_in_handler_stops_run_with_its_traceback():
    class Failing(MessagingHandler):
        def on_start(self, event):
            event.container.connect(peer.url)

        def on_connection_opened(self, event):
            raise RuntimeError("boom from the handler")

    with Peer() as peer:
        with pytest.raises(RuntimeError, match="boom from the handler") as info:
            run(Container(Failing()))
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert frames[-1] == "on_connection_opened"


# ----- regressions -----


def test_delivery_tag_is_a_str_as_in_proton():
    """Delivery.tag and Sender.delivery_tag() are str in python-qpid-proton; so are ours, on the
    sending and the receiving side."""

    class Tags(FillThenReceive):
        expected_sends = 1

        def on_sendable(self, event):
            if self.bodies:
                self.next_tag = event.sender.delivery_tag()
                self.sent = event.sender.send(Message(self.bodies.pop()), tag="my-tag")

        def on_message(self, event):
            self.received_tag = event.delivery.tag
            event.connection.close()

    with Peer() as peer:
        handler = Tags(peer.url, ["x"])
        run(Container(handler))
    assert isinstance(handler.next_tag, str)
    assert handler.sent.tag == "my-tag"
    assert isinstance(handler.received_tag, str)


def test_event_sender_and_receiver_after_the_link_is_freed():
    """A kept event still tells a sender from a receiver once the link is gone."""

    class Keep(FillThenReceive):
        expected_sends = 1

        def on_message(self, event):
            self.events = (self.sendable, event)
            event.connection.close()

        def on_sendable(self, event):
            self.sendable = event
            super().on_sendable(event)

    with Peer() as peer:
        handler = Keep(peer.url, ["x"])
        run(Container(handler))
    sendable, message = handler.events
    assert sendable.sender is handler.sender and sendable.receiver is None
    assert message.receiver is handler.receiver and message.sender is None
