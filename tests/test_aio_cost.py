"""What the aio resend default's speed-ups must keep: a message given only a string id encodes
byte for byte as the C engine does; a resending aio sender's ids are unique strings, also while
it sits at ``max_unsettled``; a handler-API sender at the limit that never settles still gets
room as outcomes come (``Unsettled.room()`` looks once per container pass). Real peers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from amq_python import Message, aio
from amq_python._core._message import ID_ONLY, _encode_c, _encode_fast
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.peers.credit_peer import CreditPeer, credit_peer
from tests.peers.listener_process import watchdog
from tests.test_aio_container import run_on
from tests.test_aio_resend import arrived

IDS = ["a", "x" * 252, "x" * 253, "é" * 126, "é" * 127, f"{uuid.uuid4().hex}:123456"]


def given_id(message: Message, message_id: str) -> Message:
    """What a resending aio sender does to an id-less message (``aio.Sender._transfer``)."""
    message._id = message_id
    if not message._dirty:
        message._dirty = ID_ONLY
    return message


@pytest.mark.parametrize("body", [None, b"\x00" * 100, "text", [1, 2]])
@pytest.mark.parametrize("message_id", IDS)
def test_a_message_given_only_a_string_id_encodes_as_the_c_engine_does(
    message_id: str, body: Any
) -> None:
    message = given_id(Message() if body is None else Message(body=body), message_id)
    assert message._dirty == ID_ONLY and message.id == message_id
    assert _encode_fast(message) == _encode_c(message)
    with_setter = Message() if body is None else Message(body=body)
    with_setter.id = message_id
    assert with_setter._dirty is True
    assert _encode_fast(message) == _encode_fast(with_setter)


@pytest.mark.parametrize(
    "more", [{"durable": True}, {"subject": "s"}, {"correlation_id": 7}, {"ttl": 2}]
)
def test_a_field_set_after_the_given_id_is_encoded_too(more: dict[str, Any]) -> None:
    message = given_id(Message(body=b"b"), "an-id")
    alone = _encode_fast(message)
    for name, value in more.items():
        setattr(message, name, value)
    assert message._dirty is True
    encoded = _encode_fast(message)
    assert encoded == _encode_c(message) and len(encoded) > len(alone)
    assert encoded == _encode_fast(Message(body=b"b", id="an-id", **more))


def test_a_message_with_fields_keeps_them_when_given_an_id() -> None:
    message = given_id(Message(body=b"b", subject="s", properties={"k": 1}), "an-id")
    assert message._dirty is True
    assert _encode_fast(message) == _encode_c(message)
    assert _encode_fast(message) == _encode_fast(
        Message(body=b"b", subject="s", properties={"k": 1}, id="an-id")
    )


def test_an_aio_sender_at_max_unsettled_gives_unique_string_ids(loop: str) -> None:
    with credit_peer(1000, "accept") as peer:

        async def main() -> None:
            async with await aio.connect(peer.url, reconnect=False) as conn:
                sender = await conn.open_sender("q", max_unsettled=50)
                messages = [Message(body=n) for n in range(300)]
                trackers = [await sender.submit(m) for m in messages]
                for tracker in trackers:
                    await tracker
                assert sender.unsettled == 0
                ids = [m.id for m in messages]
                assert all(type(i) is str for i in ids) and len(set(ids)) == 300
                prefixes = {i.rpartition(":")[0] for i in ids}
                assert len(prefixes) == 1
                assert [int(i.rpartition(":")[2]) for i in ids] == list(range(1, 301))
                other = await conn.open_sender("q")
                await other.send(last := Message(body="other"))
                assert str(last.id).rpartition(":")[0] not in prefixes
            assert (await arrived(peer, 301))[:300] == ids

        run_on(loop, main)




class NeverSettles(MessagingHandler):
    """A resending sender with ``auto_settle`` off that never settles: each outcome is a
    chance to send more, which room() allows once it has dropped the answered messages."""

    def __init__(self, peer: CreditPeer, count: int, limit: int) -> None:
        super().__init__(auto_settle=False)
        self.peer = peer
        self.count = count
        self.limit = limit
        self.sent = 0
        self.accepted = 0

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(self.peer.url)
        event.container.create_sender(
            connection, "q", resend_unsettled=True, max_unsettled=self.limit
        )

    def send_more(self, sender: Any) -> None:
        while sender.credit > 0 and self.sent < self.count:
            sender.send(Message(id=self.sent))
            self.sent += 1

    def on_sendable(self, event: Any) -> None:
        self.send_more(event.sender)

    def on_accepted(self, event: Any) -> None:
        self.accepted += 1
        if self.accepted == self.count:
            event.connection.close()
        else:
            self.send_more(event.sender)


def test_a_sender_at_the_limit_that_never_settles_gets_room_as_outcomes_come() -> None:
    with credit_peer(1000, "accept") as peer, watchdog(20):
        handler = NeverSettles(peer, count=200, limit=5)
        Container(handler).run()
    assert handler.sent == 200 and handler.accepted == 200
