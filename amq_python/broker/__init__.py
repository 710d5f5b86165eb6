"""An embedded AMQP 1.0 broker built on amq_python's own Container: for development and tests.

Run it with ``python -m amq_python.broker`` (or the ``amq-broker`` console script). Queues are
made on demand by address; consumers of a queue compete (round-robin, credit-aware); delivery is
at-least-once (a message leaves its queue only when accepted; released, modified and unsettled
messages of a dropped consumer go back); ``distribution_mode copy`` browses; dynamic sources get
temporary queues (request/response replies); ``topic://`` addresses or a ``topic`` capability fan
out; a sender with no target is an anonymous relay routing by ``message.address``; a receiver
with a JMS selector (``reactor.Selector``) only gets the messages it matches (see ``selector``);
local transactions (``container.declare_transaction``) hold transactional sends and acceptances
until their commit or rollback (see ``transactions``).

TLS and SASL are options (see ``cli``): ``--tls-cert``/``--tls-key`` (and ``--tls-ca``,
``--tls-verify-client``) make it listen with amqps; ``--sasl-mechanisms``,
``--sasl-config-dir``/``--sasl-config-name`` (a Cyrus SASL server configuration, e.g. a sasldb)
and ``--require-auth`` decide who may log in. Messages live in memory only: use it for
development and tests. Production uses a real broker (ActiveMQ Artemis, Qpid Dispatch, RabbitMQ,
...).
"""

from .handler import BrokerHandler
from .nodes import Registry, Topic
from .queues import Queue

__all__ = ["BrokerHandler", "Queue", "Registry", "Topic"]
