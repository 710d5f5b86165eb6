"""``python -m amq_python.diagnose``: what security this machine gives amq_python.

Authentication and TLS problems usually come from the machine, not the program: a missing Cyrus
SASL plug-in, an OpenSSL without the expected features. This tool answers the first questions
of any such report:

1. the versions of amq_python, Python, Qpid Proton C (from pkg-config, and the engine library
   actually loaded), OpenSSL (the libssl the engine loaded, else Python's) and Cyrus SASL;
2. whether TLS works: with the openssl command line tool it makes a throwaway CA-less
   certificate for ``localhost``, and a client and a server ``SSLDomain`` complete a verified
   handshake and an AMQP open in memory (no socket); without openssl it can only say whether
   the engine was built with TLS;
3. which SASL mechanisms Cyrus offers as a client and as a server (the server list follows the
   Cyrus configuration given with ``--sasl-config-path`` / ``--sasl-config-name``), and which
   common mechanisms are missing, with the package that provides each.

``--json`` prints the same as one JSON object. The exit status is 1 when TLS or Cyrus SASL do not
work at all, else 0. It initialises Cyrus's process-wide server side, so run it as its own
process (as ``-m`` does), not inside a program that listens.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import shutil
import ssl as python_ssl
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from proton_ext import ffi, lib

from . import VERSION
from ._core._transport import SSLDomain, missing_mechanisms, set_cyrus_config
from ._version import __version__

COMMON_MECHANISMS = (
    "SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "PLAIN", "ANONYMOUS", "EXTERNAL", "GSSAPI",
)


@dataclass
class Report:
    """Everything the tool found; ``problems`` lists what does not work."""

    amq_python: str
    python: str
    proton: str
    openssl: str
    tls: str
    cyrus: str
    client_mechanisms: list[str] = field(default_factory=list)
    server_mechanisms: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _loaded_library(stem: str) -> str | None:
    """The path of a shared library this process has mapped whose file name starts with
    ``stem`` (Linux /proc/self/maps), or None."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.split()[-1] if "/" in line else ""
        if Path(path).name.startswith(stem):
            return path
    return None


def proton_version() -> str:
    """Qpid Proton C's version from pkg-config (the headers we were built against) and the
    engine library this process loaded."""
    parts = []
    pkg_config = shutil.which("pkg-config")
    if pkg_config:
        done = subprocess.run([pkg_config, "--modversion", "libqpid-proton"],
                              capture_output=True, text=True, check=False)
        if done.returncode == 0:
            parts.append(done.stdout.strip())
    library = _loaded_library("libqpid-proton-core.so")
    if library:
        parts.append(f"engine {Path(library).resolve()}")
    return ", ".join(parts) or "unknown (no pkg-config, no /proc/self/maps)"


def openssl_version() -> str:
    """The version of the libssl the engine loaded (it may differ from Python's own)."""
    library = _loaded_library("libssl.so")
    if library:
        try:
            function = ctypes.CDLL(library).OpenSSL_version
            function.restype = ctypes.c_char_p
            function.argtypes = [ctypes.c_int]
            text: bytes = function(0)
            return f"{text.decode()} ({library})"
        except (OSError, AttributeError):
            pass
    return f"{python_ssl.OPENSSL_VERSION} (Python's ssl module)"


def cyrus_version() -> str:
    """The Cyrus SASL library's own name and version."""
    implementation = ffi.new("const char **")
    version = ffi.new("const char **")
    numbers = [ffi.new("int *") for _ in range(4)]
    lib.sasl_version_info(implementation, version, *numbers)
    name = ffi.string(implementation[0]).decode() if implementation[0] != ffi.NULL else "Cyrus"
    text = ffi.string(version[0]).decode() if version[0] != ffi.NULL else \
        ".".join(str(n[0]) for n in numbers)
    return f"{name} {text}"


def _mechanism_list(function: Any) -> list[str]:
    """A Cyrus mechanism list from one of the bridge's list calls; UnavailableError-like text
    goes to the caller as RuntimeError."""
    size = 1024
    while True:
        buffer = ffi.new("char[]", size)
        n = function(buffer, size)
        if n < 0:
            raise RuntimeError(ffi.string(lib.amqx_cyrus_last_error()).decode())
        if n < size:
            return ffi.string(buffer).decode().split()
        size = n + 1


def _pump(source: Any, sink: Any) -> int:
    """Move a transport's pending output into another; how many bytes moved."""
    pending = lib.pn_transport_pending(source)
    if pending <= 0:
        return 0
    data = ffi.buffer(lib.pn_transport_head(source), pending)[:]
    lib.pn_transport_pop(source, pending)
    lib.pn_transport_push(sink, data, len(data))
    return pending


def _handshake(server_domain: SSLDomain, client_domain: SSLDomain) -> str | None:
    """A TLS handshake and AMQP open between two in-memory transports (the client checks the
    host name localhost); None when it worked, else the failure's description."""
    ends = []
    for domain, server in ((client_domain, False), (server_domain, True)):
        connection = lib.pn_connection()
        transport = lib.pn_transport()
        if server:
            lib.pn_transport_set_server(transport)
        else:
            lib.pn_connection_set_hostname(connection, b"localhost")
        ssl = lib.pn_ssl(transport)
        lib.pn_ssl_init(ssl, domain._impl, ffi.NULL)
        if not server:
            lib.pn_ssl_set_peer_hostname(ssl, b"localhost")
        lib.pn_transport_bind(transport, connection)
        lib.pn_connection_open(connection)
        ends.append((connection, transport))
    (client, client_t), (server, server_t) = ends
    try:
        for _ in range(50):
            if not _pump(client_t, server_t) + _pump(server_t, client_t):
                break
        for transport in (client_t, server_t):
            condition = lib.pn_transport_condition(transport)
            if lib.pn_condition_is_set(condition):
                return ffi.string(lib.pn_condition_get_description(condition)).decode()
        if not (lib.pn_connection_state(client) & lib.PN_REMOTE_ACTIVE
                and lib.pn_transport_is_encrypted(client_t)):
            return "the handshake did not finish"
        return None
    finally:
        for connection, transport in ends:
            lib.pn_transport_unbind(transport)
            lib.pn_transport_free(transport)
            lib.pn_connection_free(connection)


def tls_status() -> str:
    """Whether TLS works here, tried for real when the openssl tool can make a certificate."""
    if not lib.pn_ssl_present():
        return "NOT AVAILABLE: this Qpid Proton C was built without TLS"
    openssl = shutil.which("openssl")
    if openssl is None:
        return "available (not tried: the openssl tool, needed to make a test certificate, " \
               "is missing)"
    with tempfile.TemporaryDirectory(prefix="amqpy-diagnose-") as directory:
        cert, key = Path(directory, "cert.pem"), Path(directory, "key.pem")
        made = subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost",
             "-keyout", str(key), "-out", str(cert)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            return f"available (not tried: openssl could not make a certificate: {made.stderr})"
        server = SSLDomain(SSLDomain.MODE_SERVER)
        server.set_credentials(str(cert), str(key), None)
        client = SSLDomain(SSLDomain.MODE_CLIENT)
        client.set_trusted_ca_db(str(cert))
        client.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME, str(cert))
        failure = _handshake(server, client)
    if failure is not None:
        return f"BROKEN: a verified handshake with a throwaway certificate failed: {failure}"
    return "works (verified handshake with a throwaway certificate for localhost)"


def collect(config_path: str | None = None, config_name: str | None = None) -> Report:
    """Find out everything; Cyrus's server side reads NAME.conf in ``config_path``."""
    report = Report(
        amq_python=__version__,
        python=sys.version.split()[0],
        proton=proton_version(),
        openssl=openssl_version(),
        tls=tls_status(),
        cyrus=cyrus_version(),
    )
    if not report.tls.startswith(("works", "available")):
        report.problems.append(f"TLS: {report.tls}")
    try:
        report.client_mechanisms = _mechanism_list(lib.amqx_cyrus_client_mechs)
        _count, text = missing_mechanisms(" ".join(COMMON_MECHANISMS))
        report.missing = [part for part in text.split("; ") if part]
    except Exception as error:  # noqa: BLE001 - reported, not raised: this is a report
        report.problems.append(f"Cyrus SASL client side: {error}")
    try:
        if config_path or config_name:
            set_cyrus_config(config_path, config_name)
        report.server_mechanisms = _mechanism_list(lib.amqx_cyrus_server_mechs)
    except Exception as error:  # noqa: BLE001
        report.problems.append(f"Cyrus SASL server side: {error}")
    return report


def format_report(report: Report) -> str:
    """The report as aligned text lines."""
    api = ".".join(map(str, VERSION))
    lines = [
        f"amq_python           {report.amq_python} (python-qpid-proton {api} API)",
        f"Python               {report.python}",
        f"Qpid Proton C        {report.proton}",
        f"OpenSSL              {report.openssl}",
        f"TLS                  {report.tls}",
        f"Cyrus SASL           {report.cyrus}",
        f"SASL client offers   {' '.join(report.client_mechanisms) or '(none)'}",
        f"SASL server offers   {' '.join(report.server_mechanisms) or '(none)'}",
    ]
    lines += [f"missing              {item}" for item in report.missing]
    lines += [f"PROBLEM              {item}" for item in report.problems]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the report; 1 when something essential is broken."""
    parser = argparse.ArgumentParser(
        prog="python -m amq_python.diagnose",
        description="Show the TLS and SASL support amq_python has on this machine.",
    )
    parser.add_argument("--sasl-config-path", help="directory of the Cyrus server config")
    parser.add_argument("--sasl-config-name", help="Cyrus server config name (NAME.conf)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = collect(args.sasl_config_path, args.sasl_config_name)
    print(json.dumps(asdict(report), indent=2) if args.json else format_report(report))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
