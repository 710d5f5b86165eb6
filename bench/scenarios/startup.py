"""Start-up: time ``import X``, ``import X.reactor`` and ``Container()`` in this fresh process.

Run as ``python -m bench.scenarios.startup IMPL``; prints ``{"startup_ms": ...}``. It imports
only ``sys`` and ``time`` before the clock starts, so nothing the library needs is preloaded.
"""

import sys
import time


def main() -> None:
    """Time the imports and one ``Container()``, then print the result as JSON."""
    impl = sys.argv[1]
    started = time.perf_counter()
    __import__(impl)
    reactor = __import__(f"{impl}.reactor", fromlist=["Container"])
    reactor.Container()
    elapsed = time.perf_counter() - started
    print(f'{{"startup_ms": {elapsed * 1e3}}}', flush=True)


if __name__ == "__main__":
    main()
