"""Seed 5.2.1, connection URLs: ``scheme://host[:port]``, default ports 5672 and 5671.

Parses the seed's examples (and ``--url``) with ``Url`` and prints scheme, host and port of
each; no connection is made.
"""

from __future__ import annotations

import argparse

from amq_python import Url

SEED_URLS = ["amqps://example.com", "amqps://example.net:56720", "amqp://127.0.0.1",
             "amqp://[::1]:2000"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append", default=[], help="another URL to parse")
    args = parser.parse_args()
    for text in SEED_URLS + args.url:
        url = Url(text)
        print(f"{text}: scheme={url.scheme} host={url.host} port={int(url.port)}")


if __name__ == "__main__":
    main()
