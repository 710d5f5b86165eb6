"""Link options for create_sender/create_receiver: settle modes, filters, node properties."""

from __future__ import annotations

from proton_ext import lib

from . import _codec, _resend
from ._endpoints import Link, Sender, Terminus


class LinkOption:
    """An option applied to a link before it is opened."""

    def apply(self, link: Link) -> None:
        """Change the link."""

    def test(self, link: Link) -> bool:
        """Whether this option applies to ``link``."""
        return True


class SenderOption(LinkOption):
    """An option that applies to senders only."""

    def apply(self, sender: Link) -> None:
        """Change the sender."""

    def test(self, link: Link) -> bool:
        """Only senders."""
        return link.is_sender


class ReceiverOption(LinkOption):
    """An option that applies to receivers only."""

    def apply(self, receiver: Link) -> None:
        """Change the receiver."""

    def test(self, link: Link) -> bool:
        """Only receivers."""
        return link.is_receiver


class AtMostOnce(LinkOption):
    """Pre-settled delivery: fastest, and messages may be lost."""

    def apply(self, link: Link) -> None:
        """Sender settles on send."""
        link.snd_settle_mode = Link.SND_SETTLED


class AtLeastOnce(LinkOption):
    """Unsettled delivery acknowledged by the receiver: messages may be duplicated, not lost."""

    def apply(self, link: Link) -> None:
        """Sender waits for the receiver's outcome; receiver settles first."""
        link.snd_settle_mode = Link.SND_UNSETTLED
        link.rcv_settle_mode = Link.RCV_FIRST


class ResendUnsettled(SenderOption):
    """After a reconnect, send again the messages that had no outcome when the connection was
    lost (the ``resend_unsettled`` keyword of ``create_sender``); hold at most
    ``max_unsettled`` of them, offering no credit beyond."""

    def __init__(self, max_unsettled: int = _resend.DEFAULT_MAX_UNSETTLED) -> None:
        self.max_unsettled = max_unsettled

    def apply(self, sender: Link) -> None:
        """Keep the sender's messages until their outcome."""
        assert isinstance(sender, Sender)
        _resend.enable(sender, self.max_unsettled)


def _node(link: Link) -> Terminus:
    return link.source if link.is_receiver else link.target


class DynamicNodeProperties(LinkOption):
    """Properties for a dynamic node (for example its lifetime policy)."""

    def __init__(self, props: dict = {}) -> None:  # noqa: B006 (python-qpid-proton's signature)
        self.properties = {_codec.symbol(k) if isinstance(k, str) else k: v
                           for k, v in props.items()}

    def apply(self, link: Link) -> None:
        """Set the node properties of the dynamic terminus."""
        data = lib.pn_terminus_properties(_node(link)._impl)
        lib.pn_data_clear(data)
        _codec.put_object(data, self.properties)


class Filter(ReceiverOption):
    """A filter set on the receiver's source (message selectors and the like)."""

    def __init__(self, filter_set: dict = {}) -> None:  # noqa: B006 (python-qpid-proton's signature)
        self.filter_set = filter_set

    def apply(self, receiver: Link) -> None:
        """Write the filter set to the source."""
        data = lib.pn_terminus_filter(receiver.source._impl)
        lib.pn_data_clear(data)
        _codec.put_object(data, self.filter_set)


class Selector(Filter):
    """A JMS-style message selector, such as ``"colour = 'red'"``."""

    def __init__(self, value: str, name: str = "selector") -> None:
        super().__init__(
            {
                _codec.symbol(name): _codec.Described(
                    _codec.symbol("apache.org:selector-filter:string"), value
                )
            }
        )


class DurableSubscription(ReceiverOption):
    """A subscription that survives the link: durable deliveries, never expires."""

    def apply(self, receiver: Link) -> None:
        """Mark the source durable and never expiring."""
        receiver.source.durability = Terminus.DELIVERIES
        receiver.source.expiry_policy = Terminus.EXPIRE_NEVER


class Move(ReceiverOption):
    """Consume messages (each goes to one receiver)."""

    def apply(self, receiver: Link) -> None:
        """Distribution mode move."""
        receiver.source.distribution_mode = Terminus.DIST_MODE_MOVE


class Copy(ReceiverOption):
    """Browse messages (they stay on the queue)."""

    def apply(self, receiver: Link) -> None:
        """Distribution mode copy."""
        receiver.source.distribution_mode = Terminus.DIST_MODE_COPY
