"""File-based connection configuration: ``connect.json``, as the AMQ clients document it.

``Container.connect()`` called with neither ``url`` nor ``urls`` takes its options from
``load_connect_config()``:

1. the file is the first found of ``$MESSAGING_CONNECT_FILE`` (which must then exist),
   ``./connect.json``, ``~/.config/messaging/connect.json``, ``/etc/messaging/connect.json``;
   with none, every option has its default;
2. the file is JSON with JavaScript comments (``//`` and ``/* */``) allowed; every key is
   optional: ``scheme`` ("amqps"), ``host`` ("localhost"), ``port`` (a number or a port
   name; the scheme's own port, 5672 for amqp and 5671 for amqps, by default), ``user``,
   ``password``, ``sasl`` {``enabled`` (true), ``mechanisms`` (a string of names or a list),
   ``allow_insecure`` (the container's ``allow_insecure_mechs``, as python-qpid-proton, when
   absent)}, ``tls`` {``ca``, ``cert``, ``key``, ``verify`` (true)};
3. the result is ``connect()``'s keyword options: ``url``, ``user``, ``password``,
   ``sasl_enabled``, ``allowed_mechs``, ``allow_insecure_mechs`` (only when the file sets
   it), and for amqps an ``ssl_domain`` built from ``tls``.

A malformed file raises ``ConnectConfigError`` naming the file and what is wrong with it; the
password is never part of a message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._exceptions import ProtonException
from ._transport import SSLDomain

_PORT_NAMES = {"amqp": 5672, "amqps": 5671}
_TOP_KEYS = {"scheme", "host", "port", "user", "password", "sasl", "tls"}
_SASL_KEYS = {"enabled", "mechanisms", "allow_insecure"}
_TLS_KEYS = {"ca", "cert", "key", "verify"}


class ConnectConfigError(ProtonException, ValueError):
    """A connect.json file that cannot be used; the message names the file and the problem."""


def find_connect_file(env: Mapping[str, str] = os.environ) -> Path | None:
    """The configuration file to use, or None when there is none.

    ``MESSAGING_CONNECT_FILE`` wins when set, and must name an existing file.
    """
    named = env.get("MESSAGING_CONNECT_FILE")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConnectConfigError(
                f"MESSAGING_CONNECT_FILE names {named}, which is not an existing file"
            )
        return path
    home = env.get("HOME") or os.path.expanduser("~")
    for candidate in (
        Path("connect.json"),
        Path(home, ".config", "messaging", "connect.json"),
        Path("/etc/messaging/connect.json"),
    ):
        if candidate.is_file():
            return candidate
    return None


def strip_comments(text: str) -> str:
    """JSON text with JavaScript ``//`` and ``/* */`` comments removed (not inside strings).

    Each comment becomes a space or its newlines, so JSON error positions stay right.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise ValueError(f"a /* comment is never closed (at offset {i})")
            out.append(" " + "\n" * text.count("\n", i, j))
            i = j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class _Reader:
    """Typed access to the parsed file; every error names the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, problem: str) -> ConnectConfigError:
        return ConnectConfigError(f"{self.path}: {problem}")

    def section(self, data: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        """An object (the whole file when ``key`` is empty) with only ``allowed`` keys."""
        where = f'"{key}"' if key else "the file"
        if not isinstance(data, dict):
            raise self.fail(f"{where} must be a JSON object, not {_kind(data)}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(
                f"unknown key(s) {', '.join(unknown)} in {where}; valid keys: "
                + ", ".join(sorted(allowed))
            )
        return data

    def text(self, data: dict[str, Any], key: str, name: str, default: str | None) -> str | None:
        value = data.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(f'"{name}" must be a string, not {_kind(value)}')
        return value

    def flag(self, data: dict[str, Any], key: str, name: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f'"{name}" must be true or false, not {_kind(value)}')
        return value

    def file(self, data: dict[str, Any], key: str) -> str | None:
        value = self.text(data, key, f"tls.{key}", None)
        if value is not None and not os.path.isfile(value):
            raise self.fail(f'"tls.{key}" names {value}, which is not an existing file')
        return value


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages (never the value: it may be secret)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _port(reader: _Reader, value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    elif isinstance(value, str):
        if value not in _PORT_NAMES:
            raise reader.fail(
                f'"port" {value!r} is neither a number nor a port name (amqp, amqps)'
            )
        return _PORT_NAMES[value]
    if isinstance(value, bool) or not isinstance(value, int):
        raise reader.fail(f'"port" must be a number or a port name, not {_kind(value)}')
    if not 0 < value < 65536:
        raise reader.fail(f'"port" {value} is not between 1 and 65535')
    return value


def _mechanisms(reader: _Reader, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, list) and all(isinstance(m, str) for m in value):
        return " ".join(value) or None
    raise reader.fail('"sasl.mechanisms" must be a string or a list of strings')


def _ssl_domain(reader: _Reader, tls: dict[str, Any]) -> SSLDomain:
    ca, cert, key = reader.file(tls, "ca"), reader.file(tls, "cert"), reader.file(tls, "key")
    verify = reader.flag(tls, "verify", "tls.verify", True)
    if key is not None and cert is None:
        raise reader.fail('"tls.key" is set without "tls.cert"')
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    if ca is not None:
        domain.set_trusted_ca_db(ca)
    if verify:
        domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME, ca)
    else:
        domain.set_peer_authentication(SSLDomain.ANONYMOUS_PEER)
    if cert is not None:
        domain.set_credentials(cert, key or cert, None)
    return domain


def parse_connect_config(text: str, path: Path) -> dict[str, Any]:
    """``connect()`` options from the text of a configuration file (``path`` is for
    messages)."""
    reader = _Reader(path)
    try:
        data = json.loads(strip_comments(text)) if text.strip() else {}
    except ValueError as e:
        raise reader.fail(f"not valid JSON: {e}")
    top = reader.section(data, "", _TOP_KEYS)
    sasl = reader.section(top.get("sasl", {}), "sasl", _SASL_KEYS)
    tls = reader.section(top.get("tls", {}), "tls", _TLS_KEYS)
    scheme = reader.text(top, "scheme", "scheme", "amqps")
    if scheme not in ("amqp", "amqps"):
        raise reader.fail(f'"scheme" must be "amqp" or "amqps", not {scheme!r}')
    host = reader.text(top, "host", "host", "localhost")
    if not host:
        raise reader.fail('"host" must not be empty')
    port = _port(reader, top.get("port", scheme))
    literal = f"[{host}]" if ":" in host else host
    options: dict[str, Any] = {
        "url": f"{scheme}://{literal}:{port}",
        "sasl_enabled": reader.flag(sasl, "enabled", "sasl.enabled", True),
    }
    if "allow_insecure" in sasl:
        options["allow_insecure_mechs"] = reader.flag(
            sasl, "allow_insecure", "sasl.allow_insecure", False
        )
    user = reader.text(top, "user", "user", None)
    password = reader.text(top, "password", "password", None)
    if user is not None:
        options["user"] = user
    if password is not None:
        options["password"] = password
    mechanisms = _mechanisms(reader, sasl.get("mechanisms"))
    if mechanisms is not None:
        options["allowed_mechs"] = mechanisms
    if scheme == "amqps":
        options["ssl_domain"] = _ssl_domain(reader, tls)
    return options


def load_connect_config(env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """``connect()`` keyword options from the first configuration file found (the defaults
    when there is none): url, user, password, sasl_enabled, allowed_mechs,
    allow_insecure_mechs and, for amqps, ssl_domain."""
    path = find_connect_file(env)
    if path is None:
        return parse_connect_config("", Path("(no connect.json: defaults)"))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as e:
        raise ConnectConfigError(f"{path}: cannot be read: {e}")
    return parse_connect_config(text, path)
