"""Soak on a 3-node RabbitMQ cluster: a million messages, a node killed every 30 s;
``make soak-cluster`` runs it.

    .venv/bin/python soak/cluster.py                          # 1,000,000 messages, kill -9
    .venv/bin/python soak/cluster.py --messages 200000 --period 20 --how stop

The cluster is tests/peers/rabbit_cluster.py's (Debian's rabbitmq-server, three nodes as plain
processes on loopback, one quorum queue); the run is tests/cluster_run.py's, the one the cluster
tests use: 2 handler-API producers with ``resend_unsettled=True`` and 1 ``aio`` producer, 1
handler-API and 2 ``aio`` consumers, failover ``urls=[a, b, c]``. Every ``--period`` seconds
(once the cluster is back in sync after the failure before) the node producer 0 is connected
to is killed and restarted (``--how stop``: SIGSTOP, SIGCONT after three heartbeats). It prints
one summary and, with ``--json``, the numbers as JSON; the exit status is 1 when an accepted
message was not received.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.cluster_run import ClusterRun, Plan  # noqa: E402
from tests.peers.rabbit_cluster import RabbitCluster  # noqa: E402


def main() -> int:
    """Parse the options, run, print the result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--period", type=float, default=30.0, help="seconds between failures")
    parser.add_argument("--how", choices=["kill", "stop"], default="kill")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    plan = Plan(queue="soak", count=args.messages, how=args.how, period=args.period)
    with RabbitCluster([plan.queue], timeout=180) as cluster:
        run = ClusterRun(cluster, plan)
        try:
            results = run.run()
        finally:
            print(f"soak-cluster: {run.results().summary(plan, cluster.start_seconds)}",
                  flush=True)
    if args.json:
        recovered = [f.recovered for f in results.failures if f.recovered is not None]
        print(json.dumps({
            "messages": plan.count, "how": plan.how, "period": plan.period,
            "failures": len(results.failures), "accepted": results.accepted,
            "received": results.received, "lost": len(results.lost),
            "duplicates": results.duplicates,
            "recovered_s": [None if f.recovered is None else round(f.recovered, 2)
                            for f in results.failures],
            "synced_s": [None if f.synced is None else round(f.synced, 1)
                         for f in results.failures],
            "recovered_max_s": round(max(recovered), 2) if recovered else None,
            "session_errors": len(results.session_errors),
            "seconds": round(results.seconds, 1),
        }))
    return 1 if results.lost or results.accepted != plan.count else 0


if __name__ == "__main__":
    sys.exit(main())
