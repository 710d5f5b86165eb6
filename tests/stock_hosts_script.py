"""A client and a listener in one container, on amq_python or python-qpid-proton, for
tests/test_stock_hosts.py (run under a stock Debian hosts file: ``::1 localhost`` first).

``python stock_hosts_script.py MODULE SCENARIO PORT [CERT_DIR]``: the listener is on
127.0.0.1:PORT only; the client connects to ``localhost:PORT``, so it must try the next address
after ``::1`` refuses. Scenarios: ``plain``, ``tls`` (amqps, the server's name verified) and
``reconnect`` (the listener drops the first connection: the client reconnects, again through
``::1`` first). Prints one JSON object: what getaddrinfo gave, how often the client's
connection opened, the hostnames the listener saw in Open, and the error, if any.
"""

from __future__ import annotations

import importlib
import json
import socket
import sys
from typing import Any

module, scenario, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
certs = sys.argv[4] if len(sys.argv) > 4 else ""
lib = importlib.import_module(module)
handlers = importlib.import_module(module + ".handlers")
reactor = importlib.import_module(module + ".reactor")

infos = socket.getaddrinfo("localhost", port, 0, socket.SOCK_STREAM)
result: dict[str, Any] = {
    "addresses": [info[4][0] for info in infos],
    "opened": 0,
    "server_saw": [],
    "error": None,
}


class Server(handlers.MessagingHandler):  # type: ignore[name-defined]
    """Starts the listener and the client; records the hostname of each Open it accepts and,
    in ``reconnect``, drops the first connection."""

    def on_start(self, event: Any) -> None:
        self.client = Client()
        self.client.start(event.container)

    def on_connection_opened(self, event: Any) -> None:
        result["server_saw"].append(event.connection.remote_hostname)
        if scenario == "reconnect" and len(result["server_saw"]) == 1:
            event.transport.close_tail()
            event.transport.close_head()
        elif scenario == "reconnect":
            event.connection.close()
            self.client.finish()


class Client(handlers.MessagingHandler):  # type: ignore[name-defined]
    """Connects to localhost; records each Open from the listener and the error, if any
    (in ``reconnect``, the dropped connection's error is expected and not recorded)."""

    def start(self, container: Any) -> None:
        scheme = "amqps" if scenario == "tls" else "amqp"
        server_ssl = client_ssl = None
        if scenario == "tls":
            server_ssl = lib.SSLDomain(lib.SSLDomain.MODE_SERVER)
            server_ssl.set_credentials(f"{certs}/server.pem", f"{certs}/server-key.pem", None)
            client_ssl = lib.SSLDomain(lib.SSLDomain.MODE_CLIENT)
            client_ssl.set_trusted_ca_db(f"{certs}/ca.pem")
            client_ssl.set_peer_authentication(lib.SSLDomain.VERIFY_PEER_NAME)
        self.acceptor = container.listen(f"{scheme}://127.0.0.1:{port}", server_ssl)
        container.connect(
            f"{scheme}://localhost:{port}",
            handler=self,
            ssl_domain=client_ssl,
            reconnect=False if scenario != "reconnect" else None,
        )
        self.timer = container.schedule(10.0, self)

    def on_connection_opened(self, event: Any) -> None:
        result["opened"] += 1
        if scenario != "reconnect":
            event.connection.close()
            self.finish()

    def on_transport_error(self, event: Any) -> None:
        if scenario != "reconnect":
            condition = event.transport.condition
            result["error"] = condition.description if condition else "transport error"
            event.connection.close()
            self.finish()

    def finish(self) -> None:
        self.acceptor.close()
        self.timer.cancel()

    def on_timer_task(self, event: Any) -> None:
        result["error"] = result["error"] or "timed out"
        event.container.stop()


reactor.Container(Server()).run()  # type: ignore[attr-defined]
print(json.dumps(result))
