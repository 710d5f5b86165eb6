"""An argparse parser whose errors are one line (``PROG: what is wrong (see PROG --help)``).

Shared by amq-send, amq-receive and amq-broker: a wrong command line exits with status 2 and
never prints a traceback or the whole usage block.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """``error()`` prints one line to stderr and exits with status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: MESSAGE (see PROG --help)`` and exit 2."""
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(USAGE)
