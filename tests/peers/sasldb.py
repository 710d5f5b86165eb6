"""A throwaway Cyrus SASL server configuration: a config directory, a sasldb and its users.

Cyrus reads NAME.conf from a config directory; ``pwcheck_method: auxprop`` with
``auxprop_plugin: sasldb`` makes it check passwords against a sasldb file, which
``saslpasswd2`` (Debian package sasl2-bin) fills. Everything lives in one temporary directory,
so tests never touch /etc/sasl2 or /etc/sasldb2.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .procs import require_binary

DEFAULT_MECHS = ("SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "ANONYMOUS")


class SaslDb:
    """A config dir holding APP.conf and users.sasldb; users log in as ``name@realm``.

    Use as a context manager, or call ``close()``, to delete the directory.
    """

    def __init__(
        self,
        app: str = "proton-server",
        realm: str = "AMQX.TEST",
        mechs: tuple[str, ...] = DEFAULT_MECHS,
    ) -> None:
        """Create the directory and write APP.conf offering `mechs`; no users yet."""
        self._saslpasswd2 = require_binary("saslpasswd2", "sasl2-bin")
        self.app = app
        self.realm = realm
        self.dir = Path(tempfile.mkdtemp(prefix="amqx-sasldb-"))
        self.db = self.dir / "users.sasldb"
        self.write_config(mechs)

    def write_config(self, mechs: tuple[str, ...], extra: str = "") -> None:
        """(Re)write APP.conf: sasldb password checks, the mechanisms offered, `extra` lines."""
        (self.dir / f"{self.app}.conf").write_text(
            "pwcheck_method: auxprop\n"
            "auxprop_plugin: sasldb\n"
            f"sasldb_path: {self.db}\n"
            f"mech_list: {' '.join(mechs)}\n"
            f"{extra}"
        )

    def add_user(self, name: str, password: str) -> str:
        """Add (or reset) a user in the realm; returns the login name ``name@realm``.

        The password goes to saslpasswd2 on standard input, never on a command line.
        """
        subprocess.run(
            [self._saslpasswd2, "-c", "-p", "-f", str(self.db), "-u", self.realm, name],
            input=password.encode(),
            check=True,
            capture_output=True,
        )
        return f"{name}@{self.realm}"

    def close(self) -> None:
        """Delete the directory and everything in it."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SaslDb:
        """Enter: the SaslDb itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Leave: delete the directory."""
        self.close()
