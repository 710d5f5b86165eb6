"""Test certificates made at test time with the openssl CLI: a CA, a server, a client, a wrong CA.

Keys are EC P-256 (instant to generate; OpenSSL, Erlang and Node all accept them).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .procs import require_binary

CLIENT_KEY_PASSWORD = "client-key-secret"


@dataclass(frozen=True)
class Certs:
    """Paths of PEM files in `directory` (which the caller owns and removes)."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path  # CN=localhost, SAN DNS:localhost, IP:127.0.0.1, signed by ca
    server_key: Path
    client_cert: Path  # CN=amqp-client, for SASL EXTERNAL, signed by ca
    client_key: Path
    client_key_encrypted: Path  # the same key, AES-encrypted with CLIENT_KEY_PASSWORD
    client_key_password: str
    client_cn: str
    wrong_ca_cert: Path  # an unrelated CA: verifying the server against it must fail
    wrong_ca_key: Path


def _openssl(openssl: str, *args: str, cwd: Path) -> None:
    """Run one openssl command in cwd; raise with its output if it fails."""
    done = subprocess.run(
        [openssl, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {done.stderr.strip()}")


def _make_ca(openssl: str, directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA certificate and key named name.pem / name-key.pem."""
    cert, key = directory / f"{name}.pem", directory / f"{name}-key.pem"
    _openssl(
        openssl, "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", key.name, "-out", cert.name, cwd=directory,
    )  # fmt: skip
    return cert, key


def _make_leaf(
    openssl: str,
    directory: Path,
    name: str,
    cn: str,
    serial: int,
    ca: tuple[Path, Path],
    extensions: str,
) -> tuple[Path, Path]:
    """A key and a certificate for CN=cn signed by ca, with the given v3 extension lines."""
    cert, key, csr = (directory / f"{name}{s}.pem" for s in ("", "-key", "-csr"))
    ext = directory / f"{name}.ext"
    ext.write_text(extensions)
    _openssl(
        openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-subj", f"/CN={cn}", "-keyout", key.name, "-out", csr.name, cwd=directory,
    )  # fmt: skip
    _openssl(
        openssl, "x509", "-req", "-in", csr.name, "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-set_serial", str(serial), "-days", "2", "-extfile", ext.name,
        "-out", cert.name, cwd=directory,
    )  # fmt: skip
    csr.unlink()
    ext.unlink()
    return cert, key


def make_certs(directory: Path) -> Certs:
    """Write a CA, a server and a client certificate and a wrong CA into `directory`."""
    openssl = require_binary("openssl", "openssl")
    ca = _make_ca(openssl, directory, "ca")
    wrong_ca = _make_ca(openssl, directory, "wrong-ca")
    server = _make_leaf(
        openssl, directory, "server", "localhost", 1, ca,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )  # fmt: skip
    client_cn = "amqp-client"
    client = _make_leaf(
        openssl, directory, "client", client_cn, 2, ca,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=clientAuth\n",
    )  # fmt: skip
    encrypted = directory / "client-key-encrypted.pem"
    _openssl(
        openssl, "pkey", "-in", client[1].name, "-aes256", "-passout",
        f"pass:{CLIENT_KEY_PASSWORD}", "-out", encrypted.name, cwd=directory,
    )  # fmt: skip
    return Certs(
        directory=directory,
        ca_cert=ca[0],
        ca_key=ca[1],
        server_cert=server[0],
        server_key=server[1],
        client_cert=client[0],
        client_key=client[1],
        client_key_encrypted=encrypted,
        client_key_password=CLIENT_KEY_PASSWORD,
        client_cn=client_cn,
        wrong_ca_cert=wrong_ca[0],
        wrong_ca_key=wrong_ca[1],
    )
