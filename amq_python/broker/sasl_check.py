"""The broker's start-up check: a password mechanism (PLAIN, SCRAM-*...) needs a password database.

Cyrus SASL reads ``NAME.conf`` (default name ``proton-server``) from the configuration directory
(``--sasl-config-dir``, else ``PN_SASL_CONFIG_PATH``, else its built-in directories). With
``pwcheck_method: auxprop`` (the default) and the ``sasldb`` plug-in it checks passwords in
``sasldb_path`` (default ``/etc/sasldb2``). Without a configuration or that file every password
login fails later with "server rejected the credentials"; we say so before listening.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_NAME = "proton-server"
DEFAULT_SASLDB = "/etc/sasldb2"
CYRUS_DIRS = ("/etc/sasl2", "/usr/lib/sasl2", "/usr/lib/x86_64-linux-gnu/sasl2",
              "/usr/lib/aarch64-linux-gnu/sasl2", "/usr/lib64/sasl2")
# Mechanisms that need no password database: the rest (PLAIN, SCRAM-*, DIGEST-MD5...) do.
NO_PASSWORDS = frozenset({"ANONYMOUS", "EXTERNAL", "GSSAPI", "GS2-KRB5", "GSS-SPNEGO"})

HOW = ("make DIR/{name}.conf with 'pwcheck_method: auxprop', 'auxprop_plugin: sasldb' and "
       "'sasldb_path: FILE', add users with 'saslpasswd2 -c -f FILE USER', and start with "
       "--sasl-config-dir DIR (see README.md)")


def password_mechanisms(offered: str | None) -> list[str]:
    """The mechanisms in the ``--sasl-mechanisms`` list that check passwords."""
    return [mech for mech in (offered or "").upper().split() if mech not in NO_PASSWORDS]


def find_config(config_dir: str | None, name: str | None) -> Path | None:
    """The ``NAME.conf`` Cyrus will read, or None when there is none."""
    dirs = config_dir or os.environ.get("PN_SASL_CONFIG_PATH")
    for directory in dirs.split(":") if dirs else CYRUS_DIRS:
        path = Path(directory) / f"{name or DEFAULT_NAME}.conf"
        if path.is_file():
            return path
    return None


def read_config(path: Path) -> dict[str, str]:
    """The ``key: value`` lines of a Cyrus configuration file."""
    options = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and not key.lstrip().startswith("#"):
            options[key.strip().lower()] = value.strip()
    return options


def password_database_problem(config_dir: str | None, name: str | None) -> str | None:
    """Why password logins cannot work with this configuration, or None when they may."""
    config = find_config(config_dir, name)
    if config is None:
        where = config_dir or os.environ.get("PN_SASL_CONFIG_PATH") or "the Cyrus directories"
        return (f"no SASL password database is configured (no {name or DEFAULT_NAME}.conf in "
                f"{where}): {HOW.format(name=name or DEFAULT_NAME)}")
    try:
        options = read_config(config)
    except OSError as error:
        return f"cannot read {config}: {error.strerror}"
    method = options.get("pwcheck_method", "auxprop").lower()
    plugin = options.get("auxprop_plugin", "sasldb").lower()
    if "auxprop" not in method.split() or "sasldb" not in plugin.split():
        return None  # saslauthd, SQL, LDAP...: checked by whatever that is
    database = options.get("sasldb_path", DEFAULT_SASLDB)
    if not os.access(database, os.R_OK):
        return (f"{config} names the password database {database}, which does not exist or "
                f"cannot be read: add users with 'saslpasswd2 -c -f {database} USER'")
    return None
