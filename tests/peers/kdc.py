"""A throwaway MIT Kerberos realm with its KDC on a loopback port, for GSSAPI tests.

Everything (configuration, database, keytab, credentials cache) lives in one temporary
directory. ``client_env`` points a client's Kerberos library there (configuration and
credentials cache), ``server_env`` a service's (configuration and keytab), ``env`` both. The
service principal is ``amqp/localhost``, so clients must name the host ``localhost``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .ports import free_port, wait_for_port
from .procs import require_binary, start_group, stop_group, tail

PACKAGE = "krb5-kdc"
MASTER_PASSWORD = "amqx-master"
DEFAULT_USERS = {"alice": "alice-secret"}


class Kdc:
    """A realm with a running KDC, its users (name -> password) and the service's keytab.

    Use as a context manager, or call ``close()``, to stop the KDC and delete the directory.
    """

    def __init__(
        self,
        realm: str = "EXAMPLE.TEST",
        service: str = "amqp/localhost",
        users: Mapping[str, str] | None = None,
    ) -> None:
        """Write the configuration, create the database, users and service key, start the KDC."""
        self._krb5kdc = require_binary("krb5kdc", PACKAGE)
        self._kdb5_util = require_binary("kdb5_util", PACKAGE)
        self._kadmin = require_binary("kadmin.local", PACKAGE)
        self._kinit = require_binary("kinit", "krb5-user")
        self.realm = realm
        self.service = service
        self.users: dict[str, str] = {}
        self.dir = Path(tempfile.mkdtemp(prefix="amqx-kdc-"))
        self.port = free_port(udp_too=True)
        self.keytab = self.dir / "service.keytab"
        config = str(self.dir / "krb5.conf")
        self.client_env = {"KRB5_CONFIG": config, "KRB5CCNAME": f"FILE:{self.dir / 'ccache'}"}
        self.server_env = {"KRB5_CONFIG": config, "KRB5_KTNAME": f"FILE:{self.keytab}"}
        self.env = {
            **self.client_env,
            **self.server_env,
            "KRB5_KDC_PROFILE": str(self.dir / "kdc.conf"),
        }
        self._log = self.dir / "kdc.log"
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._write_config()
            self._run(self._kdb5_util, "create", "-s", "-r", realm, "-P", MASTER_PASSWORD)
            self._kadmin_query(f"addprinc -randkey {service}")
            self._kadmin_query(f"ktadd -k {self.keytab} {service}")
            for name, password in (DEFAULT_USERS if users is None else users).items():
                self.add_user(name, password)
            self._proc = start_group(
                [self._krb5kdc, "-n", "-P", str(self.dir / "kdc.pid")],
                {**self.env, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                self._log,
            )
            if not wait_for_port(self.port, timeout=10):
                raise RuntimeError(f"krb5kdc did not listen on {self.port}: {tail(self._log)}")
        except BaseException:
            self.close()
            raise

    def _write_config(self) -> None:
        """krb5.conf for clients and services, kdc.conf for the KDC, an empty ACL file."""
        address = f"127.0.0.1:{self.port}"
        (self.dir / "krb5.conf").write_text(
            "[libdefaults]\n"
            f"  default_realm = {self.realm}\n"
            "  dns_lookup_realm = false\n"
            "  dns_lookup_kdc = false\n"
            "  rdns = false\n"
            "  dns_canonicalize_hostname = false\n"
            "  ignore_acceptor_hostname = true\n"
            "  udp_preference_limit = 1\n"
            "[realms]\n"
            f"  {self.realm} = {{\n"
            f"    kdc = {address}\n"
            "  }\n"
            "[domain_realm]\n"
            f"  localhost = {self.realm}\n"
        )
        (self.dir / "kadm5.acl").write_text("")
        (self.dir / "kdc.conf").write_text(
            "[kdcdefaults]\n"
            f"  kdc_listen = {address}\n"
            f"  kdc_tcp_listen = {address}\n"
            "[realms]\n"
            f"  {self.realm} = {{\n"
            f"    database_name = {self.dir / 'principal'}\n"
            f"    key_stash_file = {self.dir / 'stash'}\n"
            f"    acl_file = {self.dir / 'kadm5.acl'}\n"
            "    supported_enctypes = aes256-cts-hmac-sha1-96:normal"
            " aes128-cts-hmac-sha1-96:normal\n"
            "  }\n"
        )

    def _run(self, *argv: str, stdin: str = "") -> None:
        """Run a Kerberos admin tool on this realm; its output goes into the error on failure."""
        done = subprocess.run(
            list(argv), env=self.env, input=stdin, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr}")

    def _kadmin_query(self, query: str, stdin: str = "") -> None:
        """One kadmin.local command on the local database."""
        self._run(self._kadmin, "-r", self.realm, "-q", query, stdin=stdin)

    def add_user(self, name: str, password: str) -> str:
        """Create principal `name` (password read from stdin, never an argument); name@REALM."""
        self._kadmin_query(f"addprinc {name}", stdin=f"{password}\n{password}\n")
        self.users[name] = password
        return f"{name}@{self.realm}"

    def kinit(
        self, user: str = "alice", password: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Ask the KDC for `user`'s ticket (their own password unless given) into the cache.

        Returns the finished kinit (text output), so a test can check a refusal too.
        """
        secret = self.users[user] if password is None else password
        return subprocess.run(
            [self._kinit, f"{user}@{self.realm}"],
            env=self.env,
            input=f"{secret}\n",
            capture_output=True,
            text=True,
            check=False,
        )

    def close(self) -> None:
        """Stop the KDC and delete the directory."""
        if self._proc is not None:
            stop_group(self._proc, grace=5)
            self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Kdc:
        """Enter: the Kdc itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Leave: stop and delete."""
        self.close()
