"""A 3-node RabbitMQ 3.10 cluster with a quorum queue, run as plain processes on loopback.

Nodes ``a``, ``b``, ``c`` (``NAME-a@localhost``...) share one HOME (so one Erlang cookie) and one
epmd on a free port; each has its own AMQP and distribution ports, data and log. They boot in
parallel, b and c join a, and then the quorum queues are declared (through ``rabbitmqctl
import_definitions``, so no AMQP 0-9-1 client is needed): their members are the three nodes.
``kill(n)`` is SIGKILL of the node's process group, ``pause(n)``/``resume(n)`` SIGSTOP/SIGCONT,
``restart(n)`` boots a killed node again with the same data (it rejoins by itself).
``wait_synced()`` returns once every queue has its three members back in one Raft term and
caught up with the leader: failing a node before that can leave the queue without a complete
quorum (see its docstring). ``stop()`` ends every node and epmd, whatever state they are in;
use the cluster as a context manager so that happens even when a test fails.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .ports import free_port, wait_for_port
from .procs import require_binary, start_group, stop_group, tail
from .rabbitmq import PACKAGE, RABBITMQ_SERVER, _answers_amqp

RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
RABBITMQ_QUEUES = "/usr/lib/rabbitmq/bin/rabbitmq-queues"
NODES = ("a", "b", "c")


def _free_range(count: int) -> int:
    """The first of ``count`` consecutive TCP ports that are free now (for rabbitmqctl)."""
    for _ in range(200):
        base = random.randrange(20000, 30000)
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range for rabbitmqctl")


class Node:
    """One node's name, ports and directory."""

    def __init__(self, cluster: RabbitCluster, letter: str) -> None:
        self.letter = letter
        self.name = f"{cluster.prefix}-{letter}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.directory = cluster.directory / letter
        self.directory.mkdir()
        self.log = self.directory / "console.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        """amqp://127.0.0.1:PORT."""
        return f"amqp://127.0.0.1:{self.port}"


class RabbitCluster:
    """Three clustered nodes and their quorum queues; see the module docstring."""

    def __init__(self, queues: list[str], timeout: float = 120) -> None:
        self.server = require_binary(RABBITMQ_SERVER, PACKAGE)
        self.ctl = require_binary(RABBITMQCTL, PACKAGE)
        self.queues_tool = require_binary(RABBITMQ_QUEUES, PACKAGE)
        self.epmd_binary = require_binary("epmd", "erlang-base (a dependency of rabbitmq-server)")
        self.queues = queues
        self.timeout = timeout
        self.prefix = f"amqpy{secrets.token_hex(3)}"
        self.directory = Path(tempfile.mkdtemp(prefix="amqpy-rabbit-cluster-"))
        cookie = self.directory / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(10).upper())
        cookie.chmod(0o400)
        self.epmd_port = free_port()
        self.ctl_ports = _free_range(11)
        self.nodes = {letter: Node(self, letter) for letter in NODES}
        self._epmd: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    def __enter__(self) -> RabbitCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def urls(self) -> list[str]:
        """The three nodes' AMQP URLs, a, b, c."""
        return [self.nodes[n].url for n in NODES]

    def node_at(self, url: str | None) -> Node:
        """The node whose URL (or ``host:port``) this is."""
        for node in self.nodes.values():
            if url is not None and url.rstrip("/").endswith(f":{node.port}"):
                return node
        raise KeyError(url)

    def _env(self, node: Node) -> dict[str, str]:
        d = node.directory
        dist = "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=str(self.directory),
            RABBITMQ_NODENAME=node.name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(node.port),
            RABBITMQ_DIST_PORT=str(node.dist_port),
            RABBITMQ_MNESIA_BASE=f"{d}/mnesia",
            RABBITMQ_LOG_BASE=f"{d}/log",
            RABBITMQ_CONFIG_FILE=f"{d}/rabbitmq.conf",
            RABBITMQ_ENABLED_PLUGINS_FILE=f"{d}/enabled_plugins",
            RABBITMQ_PID_FILE=f"{d}/rabbit.pid",
            RABBITMQ_CONF_ENV_FILE=f"{d}/rabbitmq-env.conf",
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_EPMD_PORT=str(self.epmd_port),
            RABBITMQ_CTL_DIST_PORT_MIN=str(self.ctl_ports),
            RABBITMQ_CTL_DIST_PORT_MAX=str(self.ctl_ports + 10),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=dist,
            RABBITMQ_CTL_ERL_ARGS=dist,
        )
        return env

    def _write_config(self, node: Node) -> None:
        d = node.directory
        (d / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{node.port}\nlog.console = true\n"
            "log.console.level = info\nlog.file = false\namqp1_0.default_user = guest\n"
        )
        (d / "enabled_plugins").write_text("[rabbitmq_amqp1_0].\n")
        (d / "rabbitmq-env.conf").write_text("")

    def rabbitmqctl(self, node: Node, *args: str, timeout: float = 90, tool: str = "") -> str:
        """Run rabbitmqctl (or ``tool``, e.g. rabbitmq-queues) against ``node``; its output, or
        RuntimeError with it."""
        done = subprocess.run(
            [tool or self.ctl, "-q", "-n", node.name, *args], env=self._env(node),
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(tool or self.ctl).name} {' '.join(args)} on {node.name}: "
                f"{done.stdout}{done.stderr}\n{tail(node.log)}"
            )
        return done.stdout

    def _launch(self, node: Node) -> None:
        self._write_config(node)
        (node.directory / "rabbit.pid").unlink(missing_ok=True)
        node.proc = start_group([self.server], self._env(node), node.log, cwd=node.directory)

    def _wait(self, node: Node) -> None:
        """Until the node runs the rabbit application and answers AMQP 1.0."""
        pidfile = str(node.directory / "rabbit.pid")
        self.rabbitmqctl(node, "wait", "--timeout", str(int(self.timeout)), pidfile,
                         timeout=self.timeout + 10)
        deadline = time.monotonic() + self.timeout
        while not _answers_amqp(node.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} does not answer AMQP:\n{tail(node.log)}")
            time.sleep(0.2)

    def start(self) -> None:
        """epmd, the three nodes in parallel, b and c joined to a, the quorum queues."""
        began = time.monotonic()
        self._epmd = start_group(
            [self.epmd_binary, "-address", "127.0.0.1", "-port", str(self.epmd_port)],
            self._env(self.nodes["a"]), self.directory / "epmd.log",
        )
        if not wait_for_port(self.epmd_port, 10):
            raise RuntimeError(f"epmd did not listen: {tail(self.directory / 'epmd.log')}")
        for node in self.nodes.values():
            self._launch(node)
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(self._wait, self.nodes.values()))
        for letter in ("b", "c"):
            node = self.nodes[letter]
            self.rabbitmqctl(node, "stop_app")
            self.rabbitmqctl(node, "join_cluster", self.nodes["a"].name)
            self.rabbitmqctl(node, "start_app")
        self._declare_queues()
        self.wait_online(3)
        self.wait_synced()
        self.start_seconds = time.monotonic() - began

    def _declare_queues(self) -> None:
        definitions = {
            "queues": [
                {"name": q, "vhost": "/", "durable": True, "auto_delete": False,
                 "arguments": {"x-queue-type": "quorum"}}
                for q in self.queues
            ]
        }
        path = self.directory / "queues.json"
        path.write_text(json.dumps(definitions))
        self.rabbitmqctl(self.nodes["a"], "import_definitions", str(path))

    def queue_status(self, asking: Node | None = None) -> list[dict[str, object]]:
        """``list_queues name type leader members online messages`` as seen by a running node."""
        node = asking or next(n for n in self.nodes.values() if n.proc and not n.paused)
        out = self.rabbitmqctl(node, "list_queues", "name", "type", "leader", "members",
                               "online", "messages", "--formatter", "json")
        return list(json.loads(out))

    def wait_online(self, count: int, asking: Node | None = None) -> None:
        """Until every queue has ``count`` members online."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                status = self.queue_status(asking)
            except RuntimeError:
                status = []
            online = {str(q["name"]): len(q["online"]) for q in status}  # type: ignore[arg-type]
            if all(online.get(q, 0) >= count for q in self.queues):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"queues not {count} online: {status}")
            time.sleep(0.5)

    def quorum_status(self, queue: str, asking: Node | None = None) -> list[dict[str, object]]:
        """``rabbitmq-queues quorum_status``: each member's node, Raft state, log and commit
        index and term, as seen by a running node."""
        node = asking or next(n for n in self.nodes.values() if n.proc and not n.paused)
        out = self.rabbitmqctl(node, "quorum_status", queue, "--formatter", "json",
                               timeout=30, tool=self.queues_tool)
        return list(json.loads(out))

    def _synced(self, queue: str, targets: dict[str, int]) -> bool:
        """One leader and two followers in one term, each with the log committed up to what
        the leader had committed when first asked (``targets``)."""
        rows = self.quorum_status(queue)
        states = sorted(str(r["Raft State"]) for r in rows)
        if states != ["follower", "follower", "leader"] or len({r["Term"] for r in rows}) != 1:
            return False
        leader = next(r for r in rows if r["Raft State"] == "leader")
        target = targets.setdefault(queue, int(leader["Commit Index"]))  # type: ignore[call-overload]
        return all(
            int(r[key]) >= target  # type: ignore[call-overload]
            for r in rows for key in ("Log Index", "Commit Index")
        )

    def wait_synced(self) -> float:
        """Until every queue has its three members in one term, a leader and two followers,
        each having written and committed the leader's log up to where it was when this call
        began; the seconds that took. A node restarted after a failure is "online" (its
        member process runs) seconds before it has caught up; failing another node in
        between leaves a quorum of one complete log and one being rebuilt, which RabbitMQ
        3.10 does not always survive (we saw ``ra_log`` ``not_found`` errors and a queue that
        made no progress)."""
        began = time.monotonic()
        deadline = began + self.timeout
        targets: dict[str, int] = {}
        while True:
            try:
                if all(self._synced(q, targets) for q in self.queues):
                    return time.monotonic() - began
                last = ""
            except (RuntimeError, ValueError, KeyError, StopIteration,
                    subprocess.TimeoutExpired) as e:
                last = str(e)
            if time.monotonic() > deadline:
                raise RuntimeError(f"queues not in sync after {self.timeout} s: {last}")
            time.sleep(0.5)

    def kill(self, letter: str) -> None:
        """SIGKILL the node's process group, as in a crash."""
        node = self.nodes[letter]
        if node.proc is not None:
            stop_group(node.proc, grace=0)
            node.proc = None
            node.paused = False

    def pause(self, letter: str) -> None:
        """SIGSTOP the node: it hangs with its sockets open."""
        node = self.nodes[letter]
        assert node.proc is not None
        os.killpg(node.proc.pid, signal.SIGSTOP)
        node.paused = True

    def resume(self, letter: str) -> None:
        """SIGCONT after pause()."""
        node = self.nodes[letter]
        if node.proc is not None and node.paused:
            os.killpg(node.proc.pid, signal.SIGCONT)
            node.paused = False

    def restart(self, letter: str, synced: bool = True) -> None:
        """Boot a killed node again with its data; it rejoins the cluster by itself. Returns
        once its queue members are online and, with ``synced``, in sync again."""
        node = self.nodes[letter]
        self.kill(letter)
        self._launch(node)
        self._wait(node)
        self.wait_online(3, node)
        if synced:
            self.wait_synced()

    def member_lag(self, letter: str) -> int | None:
        """How many log entries the node's queue members are behind what their leaders have
        committed (the most over the queues); None when a queue has no leader it can see or
        the member does not report its log yet."""
        lags = []
        for queue in self.queues:
            try:
                rows = self.quorum_status(queue)
                leaders = [r for r in rows if r["Raft State"] == "leader"]
                leader = max(leaders, key=lambda r: int(r["Term"]))  # type: ignore[call-overload]
                mine = next(r for r in rows if str(r["Node Name"]) == self.nodes[letter].name)
                behind = int(leader["Commit Index"]) - int(mine["Log Index"])  # type: ignore[call-overload]
                lags.append(max(0, behind))  # ahead: written, not committed yet
            except (RuntimeError, StopIteration, ValueError, subprocess.TimeoutExpired):
                return None
        return max(lags)

    def stop(self) -> None:
        """End every node (resumed first if paused) and epmd: SIGTERM, SIGKILL after 10 s."""
        for node in self.nodes.values():
            if node.proc is not None:
                self.resume(node.letter)
                stop_group(node.proc, grace=10)
                node.proc = None
        if self._epmd is not None:
            stop_group(self._epmd, grace=1)
            self._epmd = None

    def close(self) -> None:
        """stop() and remove the cluster's directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
