"""Which handler gets a link's and a delivery's events (the Container finds it inline for the
usual cases): the link's own, else its session's, else its connection's, else the container's.
The same script on python-qpid-proton and on amq_python, against one python-qpid-proton broker;
both must route every event the same way."""

from __future__ import annotations

import importlib
from typing import Any

from tests.helpers import Peer

EXPECTED = {"a": "connection", "b": "link", "c": "session", "d": "container"}


def routes(module_name: str, url: str) -> set[tuple[str, str, str]]:
    """(handler, event, link) for each link event and outcome the script saw on ``module``."""
    module = importlib.import_module(module_name)
    reactor = importlib.import_module(f"{module_name}.reactor")
    seen: set[tuple[str, str, str]] = set()
    sent: set[str] = set()
    accepted: set[str] = set()
    connections: list[Any] = []

    class Recorder(module.Handler):  # type: ignore[name-defined]
        def __init__(self, tag: str) -> None:
            self.tag = tag

        def on_link_remote_open(self, event: Any) -> None:
            seen.add((self.tag, "link_remote_open", event.link.name))

        def on_link_flow(self, event: Any) -> None:
            link = event.link
            seen.add((self.tag, "link_flow", link.name))
            if link.is_sender and link.credit and link.name not in sent:
                sent.add(link.name)
                link.send(module.Message(body=link.name))

        def on_delivery(self, event: Any) -> None:
            delivery = event.delivery
            seen.add((self.tag, "delivery", event.link.name))
            if delivery.remote_state == module.Delivery.ACCEPTED:
                delivery.settle()
                accepted.add(event.link.name)
                if accepted == set(EXPECTED):
                    for connection in connections:
                        connection.close()

    class Root(Recorder):
        def on_reactor_init(self, event: Any) -> None:
            container = event.container
            scoped = container.connect(url, handler=Recorder("connection"), reconnect=False)
            plain = container.connect(url, reconnect=False)
            connections.extend([scoped, plain])
            container.create_sender(scoped, "q", name="a")
            container.create_sender(scoped, "q", name="b", handler=Recorder("link"))
            session = scoped.session()
            session.handler = Recorder("session")
            session.open()
            sender = session.sender("c")
            sender.target.address = "q"
            sender.open()
            container.create_sender(plain, "q", name="d")

    container = reactor.Container(Root("container"))
    container.run()
    return seen


def _run(module_name: str) -> set[tuple[str, str, str]]:
    with Peer(module="proton", connections=2) as peer:
        seen = routes(module_name, peer.url)
        assert peer.records("closed") == [1, 2]
    return seen


def test_link_and_delivery_events_go_where_python_qpid_proton_sends_them() -> None:
    ours = _run("amq_python")
    theirs = _run("proton")
    assert ours == theirs
    for link, tag in EXPECTED.items():  # the reference covers every scope
        for event in ("link_remote_open", "link_flow", "delivery"):
            assert (tag, event, link) in theirs
    assert {(tag, link) for tag, _event, link in theirs} == {(t, ln) for ln, t in EXPECTED.items()}
