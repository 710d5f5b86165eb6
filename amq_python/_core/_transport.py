"""Transport (the byte side of a connection), SASL and TLS objects.

A Transport turns endpoint state into AMQP frames and frames back into state. The container
creates one per socket, binds it to the Connection, and frees it when the socket is done; the
same Connection can be bound to a new Transport on reconnect.

``SASL`` and ``SSL`` are one object per transport (as in python-qpid-proton: ``SASL(transport)``
twice gives the same object). SASL always goes through our Cyrus SASL bridge
(proton_ext/csrc/cyrus_sasl.c). An ``SSLDomain`` remembers how it was configured (verification
mode, trusted CAs: never the key password), so that ``Transport.condition`` can say what to do
about a TLS failure: ``explain_condition`` adds that advice to the engine's terse OpenSSL text.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import TYPE_CHECKING, Any, Callable

from proton_ext import ffi, lib

from ._condition import Condition, read_condition, write_condition
from ._exceptions import (
    SessionException,
    SSLException,
    SSLUnavailable,
    TransportException,
    UnavailableError,
    check,
)
from ._wrapper import Wrapper, live, registered

if TYPE_CHECKING:
    from ._endpoints import Connection


def _str(ptr: Any) -> str | None:
    return ffi.string(ptr).decode("utf-8", "replace") if ptr != ffi.NULL else None


_VERIFY_NAMES = {
    lib.PN_SSL_VERIFY_PEER: "VERIFY_PEER",
    lib.PN_SSL_VERIFY_PEER_NAME: "VERIFY_PEER_NAME",
    lib.PN_SSL_ANONYMOUS_PEER: "ANONYMOUS_PEER",
}

# Marks a description explain_condition has already extended (it may be read many times).
_ADVICE_MARK = " -- "


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _tls_advice(transport: Transport, description: str) -> str | None:
    """What to do about a TLS failure whose OpenSSL text is ``description``; None when we
    have nothing useful to add."""
    ssl = transport._ssl
    domain = ssl._domain if ssl is not None else None
    trusted = domain._trusted_ca if domain is not None else None
    text = description.lower()
    if "certificate verify failed" in text:
        if domain is not None and domain.mode == SSLDomain.MODE_SERVER:
            return (f"the client certificate is not signed by a CA in {trusted or 'the trusted'}"
                    " file: give the listener's SSLDomain the client's CA with "
                    "set_peer_authentication(SSLDomain.VERIFY_PEER, CA file)")
        host = ssl.peer_hostname if ssl is not None else None
        verify_name = domain is None or domain._verify_mode == SSLDomain.VERIFY_PEER_NAME
        where = f"a CA in {trusted!r}" if trusted else "the system CAs"
        named = f", or it does not name the host {host!r}" if verify_name and host else ""
        advice = (f"the server certificate is not trusted (not signed by {where}{named}): "
                  "pass ssl_domain with set_trusted_ca_db(CA file) that signed it")
        if verify_name:
            advice += ", and connect to a host name in its certificate"
            if host and _is_ip_address(host):
                advice += " (Proton does not match IP addresses: use the DNS name, or sni=NAME)"
            advice += "; set_peer_authentication(SSLDomain.VERIFY_PEER) checks the CA only"
        return advice
    if "peer did not return a certificate" in text:
        return ("this listener verifies clients (VERIFY_PEER): the client must present a "
                "certificate, with set_credentials(cert, key, password) on its SSLDomain")
    if "unexpected eof" in text:
        if domain is not None and domain.mode == SSLDomain.MODE_SERVER:
            return ("the client closed the connection during the TLS handshake (does it trust "
                    "this listener's certificate?)")
        return ("the peer closed the connection during the TLS handshake: it may not speak TLS "
                "on this port (use amqp:// for a plain port), or it refused us (if it wants a "
                "client certificate: set_credentials(cert, key, password) on our SSLDomain)")
    if "wrong version number" in text or "packet length too long" in text:
        return ("the peer did not answer with TLS: is this its TLS port? Use amqp:// for a plain "
                "port, amqps:// for a TLS port")
    if "unknown ca" in text or "alert bad certificate" in text or "certificate required" in text:
        return ("the server refused our client certificate: use one signed by a CA it trusts, "
                "with set_credentials(cert, key, password) on the client's SSLDomain")
    return None


def _sasl_advice(transport: Transport, name: str, description: str) -> str | None:
    """What to do when the server offered no mechanism this client allows (the engine says
    only ``[mech=none]``)."""
    sasl = transport._sasl
    if name != "amqp:unauthorized-access" or not description.endswith("[mech=none]") \
            or sasl is None or sasl._allowed is None:
        return None
    return (f"the server offered none of the mechanisms this client allows ({sasl._allowed}): "
            "widen allowed_mechs, or have the server offer one of them (for a Cyrus server, its "
            "mech_list)")


def explain_condition(transport: Transport, condition: Condition | None) -> Condition | None:
    """``condition`` with advice appended to its description where we can tell the user what to
    do (an untrusted or misnamed server certificate, a missing client certificate, a plain port
    reached with amqps, no SASL mechanism in common). The C condition is left as the engine set
    it.

    ``Transport.condition`` applies it, so handlers (``on_transport_error``) see the advice.
    """
    if condition is None or not condition.description:
        return condition
    description = condition.description
    if _ADVICE_MARK in description:
        return condition
    if "SSL Failure" in description:
        advice = _tls_advice(transport, description)
    else:
        advice = _sasl_advice(transport, condition.name, description)
    if advice is None:
        return condition
    return Condition(condition.name, f"{description}{_ADVICE_MARK}{advice}", condition.info)


# Transport.tracer: the C engine calls back into Python with each trace line.
# 1. Setting ``tracer`` installs ``_on_trace`` as the C callback ``amqx_pytracer``
#    (proton_ext/cdef/callbacks.h) on first use, and sets it on the C transport.
# 2. During a C call that logs (pn_transport_process, pn_transport_pending, ...), C calls
#    ``_on_trace``, which finds the Transport by its address and calls the user's tracer.
# 3. An exception from the tracer must not cross into C: ``_on_trace`` stores it in
#    ``_trace_errors`` and returns.
# 4. The Python code that made the C call re-raises it when the call returns:
#    ``raise_trace_error()`` (the Transport methods below, and the container's socket code).
_trace_errors: list[BaseException] = []


def _on_trace(impl: Any, message: Any) -> None:
    """The C trace callback (step 2): never raises (step 3)."""
    try:
        transport = live.get(impl)
        if transport is not None and transport._tracer is not None:
            transport._tracer(transport, _redacted(message))
    except BaseException as e:  # noqa: B036 - stored and re-raised by raise_trace_error()
        _trace_errors.append(e)


def _redacted(message: Any) -> str:
    """A trace line with any SASL response (a PLAIN password) replaced by <redacted>."""
    size = len(ffi.string(message)) + 16
    out = ffi.new("char[]", size)
    return ffi.string(lib.amqx_redact_line(message, out, size)).decode("utf-8", "replace")


@functools.cache
def _trace_callback() -> Any:
    """The C function pointer of ``_on_trace`` (step 1), registered on first use."""
    ffi.def_extern(name="amqx_pytracer")(_on_trace)
    return lib.amqx_pytracer


def raise_trace_error() -> None:
    """Re-raise the first exception a tracer raised during the C calls just made (step 4);
    later ones, from the same calls, are dropped with it."""
    if _trace_errors:
        error = _trace_errors[0]
        _trace_errors.clear()
        raise error


class Transport(Wrapper):
    """The AMQP protocol engine for one connection's byte stream."""

    TRACE_OFF = lib.PN_TRACE_OFF
    TRACE_RAW = lib.PN_TRACE_RAW
    TRACE_FRM = lib.PN_TRACE_FRM
    TRACE_DRV = lib.PN_TRACE_DRV
    CLIENT = 1
    SERVER = 2
    _get_context = lib.pn_transport_get_context
    _set_context = lib.pn_transport_set_context
    # Connection.wrap, handed over by _endpoints (which builds on this module) once it defines
    # Connection: the wrapper of the bound connection, without importing the module above.
    _wrap_connection: Callable[[Any], Connection | None]

    def __init__(self, mode: int | None = None, impl: Any = None) -> None:
        self._owned = impl is None
        if impl is None:
            impl = lib.pn_transport()
            if mode == Transport.SERVER:
                lib.pn_transport_set_server(impl)
            lib.amqx_redact_log(impl)  # no SASL response (a PLAIN password) in frame traces
        self._attach(impl)
        self._sasl: SASL | None = None
        self._ssl: SSL | None = None
        self._tracer: Callable[[Transport, str], None] | None = None

    @classmethod
    def wrap(cls, impl: Any) -> Transport | None:
        """The unique wrapper of a ``pn_transport_t``."""
        if impl == ffi.NULL:
            return None
        found = registered(impl, lib.pn_transport_get_context)
        return found if found is not None else cls(impl=impl)

    def _live_impl(self) -> Any:
        if self._impl is None:
            raise TransportException("the transport has been freed")
        return self._impl

    def free(self) -> None:
        """Free the C transport if we created it (the container does this when a socket ends)."""
        impl = self._impl
        if impl is not None:
            self._detach()
            if self._owned:
                lib.pn_transport_free(impl)

    @property
    def connection(self) -> Connection | None:
        """The bound connection, or None."""
        if self._impl is None:
            return None
        return self._wrap_connection(lib.pn_transport_connection(self._impl))

    def bind(self, connection: Connection) -> None:
        """Bind a connection: its state will be written to and read from this transport."""
        impl = self._live_impl()
        check(lib.pn_transport_bind(impl, connection._live_impl()), TransportException,
              lib.pn_transport_error(impl))

    def bind_nothrow(self, connection: Connection) -> None:
        """Bind, ignoring failure (python-qpid-proton's variant)."""
        lib.pn_transport_bind(self._live_impl(), connection._live_impl())

    def unbind(self) -> None:
        """Unbind the connection (so it can be bound to a new transport)."""
        impl = self._live_impl()
        check(lib.pn_transport_unbind(impl), TransportException, lib.pn_transport_error(impl))

    def trace(self, n: int) -> None:
        """Turn on protocol tracing (TRACE_FRM, TRACE_RAW, ...): to stderr, or to ``tracer``
        when one is set. ``PN_TRACE_FRM=1`` in the environment turns on TRACE_FRM for every
        transport (the C engine reads it)."""
        lib.pn_transport_trace(self._live_impl(), n)

    @property
    def tracer(self) -> Callable[[Transport, str], None] | None:
        """A callable ``tracer(transport, line)`` receiving the trace lines (instead of
        stderr); an exception it raises is re-raised by the call that made the engine trace."""
        return self._tracer

    @tracer.setter
    def tracer(self, tracer: Callable[[Transport, str], None] | None) -> None:
        impl = self._live_impl()
        if tracer is not None:
            lib.pn_transport_set_tracer(impl, _trace_callback())
        self._tracer = tracer

    def log(self, message: str) -> None:
        """Write a line to the transport's log (the tracer, or stderr when tracing)."""
        lib.pn_transport_log(self._live_impl(), message.encode())
        raise_trace_error()

    def require_auth(self, bool: bool) -> None:
        """Refuse peers that do not authenticate (server side)."""
        lib.pn_transport_require_auth(self._live_impl(), bool)

    @property
    def authenticated(self) -> bool:
        """True once SASL has authenticated the peer."""
        return bool(lib.pn_transport_is_authenticated(self._live_impl()))

    def require_encryption(self, bool: bool) -> None:
        """Refuse peers that do not encrypt (server side)."""
        lib.pn_transport_require_encryption(self._live_impl(), bool)

    @property
    def encrypted(self) -> bool:
        """True when the stream is encrypted (TLS)."""
        return bool(lib.pn_transport_is_encrypted(self._live_impl()))

    @property
    def user(self) -> str | None:
        """The authenticated user."""
        return _str(lib.pn_transport_get_user(self._live_impl()))

    @property
    def condition(self) -> Condition | None:
        """The error that closed the transport, if any, with advice on TLS failures."""
        return explain_condition(self, read_condition(lib.pn_transport_condition(
            self._live_impl())))

    @condition.setter
    def condition(self, value: Condition | None) -> None:
        write_condition(lib.pn_transport_condition(self._live_impl()), value)

    def capacity(self) -> int:
        """Bytes of input the transport can take now (negative once input is closed)."""
        return lib.pn_transport_capacity(self._live_impl())

    def push(self, binary: bytes) -> None:
        """Give the transport input bytes."""
        impl = self._live_impl()
        n = lib.amqx_transport_push_unlocked(impl, binary, len(binary))
        raise_trace_error()
        if n < 0:
            check(n, TransportException, lib.pn_transport_error(impl))
        elif n < len(binary):
            raise OverflowError(f"unable to process all bytes: {n} < {len(binary)}")

    def close_tail(self) -> None:
        """No more input will come."""
        lib.amqx_transport_close_tail_unlocked(self._live_impl())
        raise_trace_error()

    def pending(self) -> int:
        """Bytes of output ready (negative once output is closed)."""
        pending = lib.amqx_transport_pending_unlocked(self._live_impl())
        raise_trace_error()
        return pending

    def peek(self, size: int) -> bytes | None:
        """Up to ``size`` bytes of output, without consuming them."""
        impl = self._live_impl()
        buf = ffi.new("char[]", max(size, 1))
        n = lib.pn_transport_peek(impl, buf, size)
        raise_trace_error()
        if n == lib.PN_EOS:
            return None
        check(n, TransportException, lib.pn_transport_error(impl))
        return ffi.unpack(buf, n)

    def pop(self, size: int) -> None:
        """Consume ``size`` bytes of output (after writing them)."""
        lib.pn_transport_pop(self._live_impl(), size)
        raise_trace_error()

    def close_head(self) -> None:
        """No more output will be read."""
        lib.pn_transport_close_head(self._live_impl())
        raise_trace_error()

    @property
    def closed(self) -> bool:
        """True when both input and output are closed."""
        return bool(lib.pn_transport_closed(self._live_impl()))

    def tick(self, now: float) -> float:
        """Run timers (heartbeats, idle timeout) at ``now`` seconds; the next deadline or 0."""
        deadline = lib.pn_transport_tick(self._live_impl(), int(now * 1000))
        raise_trace_error()
        return deadline / 1000.0

    @property
    def max_frame_size(self) -> int:
        """The largest frame we accept."""
        return lib.pn_transport_get_max_frame(self._live_impl())

    @max_frame_size.setter
    def max_frame_size(self, size: int) -> None:
        lib.pn_transport_set_max_frame(self._live_impl(), size)

    @property
    def remote_max_frame_size(self) -> int:
        """The largest frame the peer accepts."""
        return lib.pn_transport_get_remote_max_frame(self._live_impl())

    @property
    def channel_max(self) -> int:
        """The highest channel (session) number we allow: set it before the Open frame is
        sent (after, SessionException, as in python-qpid-proton)."""
        return lib.pn_transport_get_channel_max(self._live_impl())

    @channel_max.setter
    def channel_max(self, n: int) -> None:
        impl = self._live_impl()
        code = lib.pn_transport_set_channel_max(impl, n)
        if code == lib.PN_STATE_ERR:
            raise SessionException("Too late to change channel max: the Open frame is sent")
        check(code, TransportException, lib.pn_transport_error(impl))

    @property
    def remote_channel_max(self) -> int:
        """The highest channel number the peer allows."""
        return lib.pn_transport_remote_channel_max(self._live_impl())

    @property
    def idle_timeout(self) -> float:
        """Seconds of silence after which we close the connection (0: never)."""
        return lib.pn_transport_get_idle_timeout(self._live_impl()) / 1000.0

    @idle_timeout.setter
    def idle_timeout(self, seconds: float) -> None:
        lib.pn_transport_set_idle_timeout(self._live_impl(), int(seconds * 1000))

    @property
    def remote_idle_timeout(self) -> float:
        """The peer's idle timeout, in seconds."""
        return lib.pn_transport_get_remote_idle_timeout(self._live_impl()) / 1000.0

    @property
    def frames_output(self) -> int:
        """Frames written so far."""
        return lib.pn_transport_get_frames_output(self._live_impl())

    @property
    def frames_input(self) -> int:
        """Frames read so far."""
        return lib.pn_transport_get_frames_input(self._live_impl())

    def sasl(self) -> SASL:
        """The SASL layer of this transport (made on first use)."""
        return SASL(self)

    def ssl(self, domain: SSLDomain | None = None, session_details: Any = None) -> SSL:
        """The TLS layer of this transport (made on first use, from ``domain``)."""
        return SSL(self, domain, session_details)


def cyrus_error() -> str:
    """Why the last Cyrus bridge call on this thread failed."""
    return ffi.string(lib.amqx_cyrus_last_error()).decode("utf-8", "replace")


def missing_mechanisms(mechs: str) -> tuple[int, str]:
    """How many of a space-separated list of mechanisms have no Cyrus plug-in here, and a text
    naming each one and the package that provides it."""
    size = 1024
    while True:
        buf = ffi.new("char[]", size)
        n = lib.amqx_cyrus_missing_mechs(mechs.encode(), buf, size)
        if n < 0:
            raise UnavailableError(f"Cyrus SASL cannot start: {cyrus_error()}")
        text = ffi.string(buf).decode("utf-8", "replace")
        if len(text) < size - 1:
            return n, text
        size *= 4


def set_cyrus_config(path: str | None, name: str | None) -> None:
    """Choose where the Cyrus server side reads its configuration (NAME.conf in PATH; no PATH:
    PN_SASL_CONFIG_PATH, else Cyrus's default)."""
    code = lib.amqx_cyrus_set_config(
        path.encode() if path else ffi.NULL, name.encode() if name else ffi.NULL
    )
    if code != 0:
        raise UnavailableError(f"cannot configure Cyrus SASL: {cyrus_error()}")


class SASL:
    """SASL authentication on a transport, through our Cyrus SASL bridge: every mechanism an
    installed Cyrus plug-in provides (SCRAM-SHA-256, GSSAPI, ...), client and server side."""

    OK = lib.PN_SASL_OK
    AUTH = lib.PN_SASL_AUTH
    SYS = lib.PN_SASL_SYS
    PERM = lib.PN_SASL_PERM
    TEMP = lib.PN_SASL_TEMP

    _transport: Transport
    _impl: Any
    _config_name: str | None
    _config_path: str | None
    _allowed: str | None

    def __new__(cls, transport: Transport) -> SASL:
        """The transport's SASL object, made (and the Cyrus bridge installed) on first use."""
        if transport._sasl is not None:
            return transport._sasl
        impl = transport._live_impl()
        if lib.amqx_cyrus_install(impl) != 0:
            raise UnavailableError(f"cannot use Cyrus SASL: {cyrus_error()}")
        self = super().__new__(cls)
        self._transport = transport
        self._impl = lib.pn_sasl(impl)
        self._config_name = None
        self._config_path = None
        self._allowed = None
        transport._sasl = self
        return self

    @staticmethod
    def extended() -> bool:
        """True: mechanisms beyond ANONYMOUS, PLAIN and EXTERNAL come from Cyrus SASL."""
        return True

    @property
    def user(self) -> str | None:
        """The authenticated user."""
        return _str(lib.pn_sasl_get_user(self._impl))

    @property
    def authorization(self) -> str | None:
        """The authorization identity: on a server, the one the client asked for, else the
        authenticated user (README, "Security notes", says which requests are allowed)."""
        return _str(lib.pn_sasl_get_authorization(self._impl))

    @property
    def mech(self) -> str | None:
        """The mechanism that was chosen."""
        return _str(lib.pn_sasl_get_mech(self._impl))

    @property
    def outcome(self) -> int | None:
        """OK, AUTH, ... or None while negotiation is not finished."""
        outcome = lib.pn_sasl_outcome(self._impl)
        return None if outcome == lib.PN_SASL_NONE else outcome

    def allowed_mechs(self, mechs: str | list[str]) -> None:
        """Restrict the mechanisms to a space-separated string or a list of names."""
        text = mechs if isinstance(mechs, str) else " ".join(mechs)
        lib.pn_sasl_allowed_mechs(self._impl, text.encode())
        self._allowed = text

    @property
    def allow_insecure_mechs(self) -> bool:
        """Allow mechanisms that send secrets in clear (PLAIN) without TLS."""
        return bool(lib.pn_sasl_get_allow_insecure_mechs(self._impl))

    @allow_insecure_mechs.setter
    def allow_insecure_mechs(self, insecure: bool) -> None:
        lib.pn_sasl_set_allow_insecure_mechs(self._impl, insecure)

    def done(self, outcome: int) -> None:
        """Server side: finish authentication with ``outcome``."""
        lib.pn_sasl_done(self._impl, outcome)

    def config_name(self, name: str) -> None:
        """The Cyrus configuration (application) name: the server reads NAME.conf.
        Cyrus keeps one server configuration per process, fixed by the first server that
        authenticates."""
        self._config_name = name
        set_cyrus_config(self._config_path, name)

    def config_path(self, path: str) -> None:
        """The directory holding the Cyrus configuration (one per process, see config_name);
        without it, a server reads PN_SASL_CONFIG_PATH, Container or not."""
        self._config_path = path
        set_cyrus_config(path, self._config_name)


class SSLDomain:
    """Shared TLS configuration: credentials, trusted CAs, peer verification."""

    MODE_CLIENT = lib.PN_SSL_MODE_CLIENT
    MODE_SERVER = lib.PN_SSL_MODE_SERVER
    VERIFY_PEER = lib.PN_SSL_VERIFY_PEER
    VERIFY_PEER_NAME = lib.PN_SSL_VERIFY_PEER_NAME
    ANONYMOUS_PEER = lib.PN_SSL_ANONYMOUS_PEER

    def __init__(self, mode: int) -> None:
        if mode not in (SSLDomain.MODE_CLIENT, SSLDomain.MODE_SERVER):
            raise SSLException(f"SSLDomain mode must be MODE_CLIENT or MODE_SERVER, not {mode!r}")
        impl = lib.amqx_ssl_domain_unlocked(mode)
        if impl == ffi.NULL:
            raise SSLUnavailable("this Proton library was built without TLS support")
        self._impl = ffi.gc(impl, lib.pn_ssl_domain_free)
        self.mode = mode
        # What explain_condition needs; Proton's defaults: clients check the CA (system store)
        # and the host name, servers check nothing.
        client = mode == SSLDomain.MODE_CLIENT
        self._verify_mode = SSLDomain.VERIFY_PEER_NAME if client else SSLDomain.ANONYMOUS_PEER
        self._trusted_ca: str | None = None
        self._has_credentials = False

    def __repr__(self) -> str:
        side = "client" if self.mode == SSLDomain.MODE_CLIENT else "server"
        verify = _VERIFY_NAMES.get(self._verify_mode, str(self._verify_mode))
        return f"SSLDomain({side}, verify={verify}, trusted_ca={self._trusted_ca!r})"

    def _check(self, code: int, what: str) -> int:
        if code < 0:
            raise SSLException(f"{what} failed [{code}]")
        return code

    def set_credentials(self, cert_file: str, key_file: str, password: str | None) -> int:
        """Our certificate and private key (PEM files), and the key's password if any.

        The password is handed to OpenSSL and not kept; errors never include it.
        """
        self._check(
            lib.amqx_ssl_domain_set_credentials_unlocked(
                self._impl,
                cert_file.encode(),
                key_file.encode(),
                password.encode() if password is not None else ffi.NULL,
            ),
            f"set_credentials: cannot use the certificate {cert_file!r} with the private key "
            f"{key_file!r} (are they PEM files that belong together"
            + (", and is the key's password right?)" if password is not None
               else "? An encrypted key needs its password)"),
        )
        self._has_credentials = True
        return 0

    def set_trusted_ca_db(self, certificate_db: str) -> int:
        """The CA certificates (a PEM file) trusted to sign the peer's certificate."""
        self._check(
            lib.amqx_ssl_domain_set_trusted_ca_db_unlocked(self._impl, certificate_db.encode()),
            f"set_trusted_ca_db: cannot load CA certificates from {certificate_db!r}",
        )
        self._trusted_ca = certificate_db
        return 0

    def set_peer_authentication(self, verify_mode: int, trusted_CAs: str | None = None) -> int:
        """How to verify the peer: VERIFY_PEER (certificate signed by a trusted CA),
        VERIFY_PEER_NAME (that, and the certificate names the host we connect to) or
        ANONYMOUS_PEER (no check). A server that verifies clients needs ``trusted_CAs``: the CA
        file whose names it sends to clients as acceptable issuers."""
        if verify_mode not in _VERIFY_NAMES:
            raise SSLException(
                f"set_peer_authentication: unknown verify mode {verify_mode!r}; use "
                "SSLDomain.VERIFY_PEER, VERIFY_PEER_NAME or ANONYMOUS_PEER"
            )
        self._check(
            lib.amqx_ssl_domain_set_peer_authentication_unlocked(
                self._impl,
                verify_mode,
                trusted_CAs.encode() if trusted_CAs is not None else ffi.NULL,
            ),
            "set_peer_authentication"
            + (": a server that verifies clients needs set_credentials() first and "
               "trusted_CAs" if self.mode == SSLDomain.MODE_SERVER else ""),
        )
        self._verify_mode = verify_mode
        if trusted_CAs is not None and self._trusted_ca is None:
            self._trusted_ca = trusted_CAs
        return 0

    def allow_unsecured_client(self) -> int:
        """Server side: accept clients that do not use TLS as well."""
        return self._check(
            lib.pn_ssl_domain_allow_unsecured_client(self._impl), "allow_unsecured_client"
        )


class SSLSessionDetails:
    """An id under which a TLS session may be resumed."""

    def __init__(self, session_id: str) -> None:
        self._session_id = session_id

    def get_session_id(self) -> str:
        """The session id."""
        return self._session_id


class SSL:
    """The TLS layer of one transport."""

    SHA1 = lib.PN_SSL_SHA1
    SHA256 = lib.PN_SSL_SHA256
    SHA512 = lib.PN_SSL_SHA512
    MD5 = lib.PN_SSL_MD5
    CERT_COUNTRY_NAME = lib.PN_SSL_CERT_SUBJECT_COUNTRY_NAME
    CERT_STATE_OR_PROVINCE = lib.PN_SSL_CERT_SUBJECT_STATE_OR_PROVINCE
    CERT_CITY_OR_LOCALITY = lib.PN_SSL_CERT_SUBJECT_CITY_OR_LOCALITY
    CERT_ORGANIZATION_NAME = lib.PN_SSL_CERT_SUBJECT_ORGANIZATION_NAME
    CERT_ORGANIZATION_UNIT = lib.PN_SSL_CERT_SUBJECT_ORGANIZATION_UNIT
    CERT_COMMON_NAME = lib.PN_SSL_CERT_SUBJECT_COMMON_NAME
    RESUME_UNKNOWN = lib.PN_SSL_RESUME_UNKNOWN
    RESUME_NEW = lib.PN_SSL_RESUME_NEW
    RESUME_REUSED = lib.PN_SSL_RESUME_REUSED

    _transport: Transport
    _domain: SSLDomain | None
    _session_details: Any
    _impl: Any

    def __new__(
        cls, transport: Transport, domain: SSLDomain | None, session_details: Any = None
    ) -> SSL:
        """The transport's TLS layer, made from ``domain`` on first use; asking again with a
        different domain or session is an error (the layer cannot be reconfigured)."""
        existing = transport._ssl
        if existing is not None:
            if (domain is not None and domain is not existing._domain) or (
                session_details is not None
                and session_details is not existing._session_details
            ):
                raise SSLException("Cannot re-configure existing SSL object!")
            return existing
        if not SSL.present():
            raise SSLUnavailable("this Proton library was built without TLS support")
        self = super().__new__(cls)
        self._transport = transport
        self._domain = domain  # the domain must outlive this transport's TLS
        self._session_details = session_details
        self._impl = lib.pn_ssl(transport._live_impl())
        session_id = session_details.get_session_id() if session_details is not None else None
        if domain is not None:
            code = lib.pn_ssl_init(
                self._impl, domain._impl, session_id.encode() if session_id else ffi.NULL
            )
            if code < 0:
                raise SSLException(f"TLS initialisation failed [{code}]")
        transport._ssl = self
        return self

    @staticmethod
    def present() -> bool:
        """True when the Proton library has TLS support."""
        return bool(lib.pn_ssl_present())

    def cipher_name(self) -> str | None:
        """The negotiated cipher, once the handshake is done."""
        buf = ffi.new("char[]", 128)
        return ffi.string(buf).decode() if lib.pn_ssl_get_cipher_name(self._impl, buf, 128) \
            else None

    def protocol_name(self) -> str | None:
        """The negotiated TLS version, once the handshake is done."""
        buf = ffi.new("char[]", 128)
        return ffi.string(buf).decode() if lib.pn_ssl_get_protocol_name(self._impl, buf, 128) \
            else None

    @property
    def peer_hostname(self) -> str | None:
        """The host name checked against the peer's certificate (and sent as SNI); ``""``
        when none is set, as in python-qpid-proton."""
        size = ffi.new("size_t *", 256)
        buf = ffi.new("char[]", 256)
        if lib.pn_ssl_get_peer_hostname(self._impl, buf, size) < 0:
            return None
        return ffi.string(buf).decode()

    @peer_hostname.setter
    def peer_hostname(self, hostname: str | None) -> None:
        """Set the name; None clears it."""
        name = hostname.encode() if hostname is not None else ffi.NULL
        if lib.pn_ssl_set_peer_hostname(self._impl, name) < 0:
            raise SSLException(f"cannot set the TLS peer host name {hostname!r}")

    @property
    def remote_subject(self) -> str | None:
        """The subject of the peer's certificate."""
        return _str(lib.pn_ssl_get_remote_subject(self._impl))

    def get_cert_subject_subfield(self, subfield_name: int) -> str | None:
        """One field of the peer certificate's subject (CERT_COMMON_NAME, ...)."""
        return _str(lib.pn_ssl_get_remote_subject_subfield(self._impl, subfield_name))

    def get_cert_subject(self) -> str | None:
        """The subject of the peer's certificate."""
        return self.remote_subject

    def get_cert_common_name(self) -> str | None:
        """The peer certificate's common name."""
        return self.get_cert_subject_subfield(SSL.CERT_COMMON_NAME)

    def get_cert_organization(self) -> str | None:
        """The peer certificate's organization."""
        return self.get_cert_subject_subfield(SSL.CERT_ORGANIZATION_NAME)

    def get_cert_organization_unit(self) -> str | None:
        """The peer certificate's organizational unit."""
        return self.get_cert_subject_subfield(SSL.CERT_ORGANIZATION_UNIT)

    def get_cert_locality_or_city(self) -> str | None:
        """The peer certificate's locality."""
        return self.get_cert_subject_subfield(SSL.CERT_CITY_OR_LOCALITY)

    def get_cert_country(self) -> str | None:
        """The peer certificate's country."""
        return self.get_cert_subject_subfield(SSL.CERT_COUNTRY_NAME)

    def get_cert_state_or_province(self) -> str | None:
        """The peer certificate's state or province."""
        return self.get_cert_subject_subfield(SSL.CERT_STATE_OR_PROVINCE)

    def get_cert_fingerprint(self, fingerprint_length: int, digest_name: int) -> str | None:
        """The peer certificate's fingerprint as hex, using ``digest_name`` (SHA1, ...)."""
        buf = ffi.new("char[]", fingerprint_length)
        code = lib.pn_ssl_get_cert_fingerprint(self._impl, buf, fingerprint_length, digest_name)
        return ffi.string(buf).decode() if code == 0 else None

    def get_cert_fingerprint_sha1(self) -> str | None:
        """SHA-1 fingerprint of the peer certificate."""
        return self.get_cert_fingerprint(41, SSL.SHA1)

    def get_cert_fingerprint_sha256(self) -> str | None:
        """SHA-256 fingerprint of the peer certificate."""
        return self.get_cert_fingerprint(65, SSL.SHA256)

    def get_cert_fingerprint_sha512(self) -> str | None:
        """SHA-512 fingerprint of the peer certificate."""
        return self.get_cert_fingerprint(129, SSL.SHA512)

    def get_cert_fingerprint_md5(self) -> str | None:
        """MD5 fingerprint of the peer certificate."""
        return self.get_cert_fingerprint(33, SSL.MD5)

    def resume_status(self) -> int:
        """Whether the TLS session was resumed."""
        return lib.pn_ssl_resume_status(self._impl)

