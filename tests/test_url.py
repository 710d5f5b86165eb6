"""Url: the seed URLs, parity with proton 0.40 where proton is right, clear errors elsewhere."""

from __future__ import annotations

import proton
import pytest

from amq_python._core._url import Url

SEED = [
    ("amqps://example.com", "amqps", "example.com", 5671),
    ("amqps://example.net:56720", "amqps", "example.net", 56720),
    ("amqp://127.0.0.1", "amqp", "127.0.0.1", 5672),
    ("amqp://[::1]:2000", "amqp", "::1", 2000),
]


@pytest.mark.parametrize(("text", "scheme", "host", "port"), SEED)
def test_seed_urls_parse(text: str, scheme: str, host: str, port: int) -> None:
    url = Url(text)
    assert (url.scheme, url.host, url.port, url.path) == (scheme, host, port, None)
    assert isinstance(url.port, Url.Port)


@pytest.mark.parametrize(
    "text",
    [s[0] for s in SEED]
    + [
        "amqp://user:pw@host:1234/addr",
        "amqp://user@host/a/b",
        "host",
        "host:5",
        "localhost/queue",
        "amqp://host:amqps",
        "amqp://us%40er:p%3Aw@host",
        "AMQP://host",
        "amqp://host/",
        "amqp://a:b:c@host",
        "[::1]:5",
        "amqp://[fe80::1%eth0]:5",
        "amqp://:5672",
        "",
    ],
)
def test_same_as_proton(text: str) -> None:
    ours, theirs = Url(text), proton.Url(text)
    assert str(ours) == str(theirs)
    for part in ("scheme", "username", "password", "host", "port", "path"):
        assert getattr(ours, part) == getattr(theirs, part), part


def test_defaults_false_leaves_parts_unset() -> None:
    url = Url("amqp://host", defaults=False)
    assert url.port is None and str(url) == "amqp://host"
    assert str(Url("host", defaults=False)) == str(proton.Url("host", defaults=False)) == "//host"
    empty = Url(defaults=False)
    assert (empty.scheme, empty.host, empty.port, str(empty)) == (None, None, None, "")
    assert str(empty.defaults()) == "amqp://0.0.0.0:amqp"


def test_keywords_replace_parts() -> None:
    url = Url(
        "amqp://host", port=7, username="u", password="p", path="x", scheme="amqps", host="h2"
    )
    assert str(url) == "amqps://u:p@h2:7/x"
    with pytest.raises(AttributeError, match="user"):
        Url("amqp://host", user="u")


def test_port_names_and_numbers() -> None:
    assert Url.Port("amqps") == 5671 and str(Url.Port("amqps")) == "amqps"
    assert Url.Port("amqp") == 5672 and Url.Port(5) == 5 and Url.Port("6000") == 6000
    url = Url("h")
    url.port = "amqps"
    assert url.port == 5671
    url.port = None
    assert str(url) == "amqp://h"
    with pytest.raises(ValueError, match="out of range"):
        url.port = 70000


def test_password_in_str_but_not_repr() -> None:
    url = Url("amqps://alice:s3cret@broker:5671/q")
    assert str(url) == "amqps://alice:s3cret@broker:5671/q"
    assert "s3cret" not in repr(url)
    assert repr(url) == "Url('amqps://alice:***@broker:5671/q')"


def test_equality_with_strings_and_urls() -> None:
    assert Url("amqp://u:p@h:1/x") == "amqp://u:p@h:1/x"
    assert Url("amqp://u:p@h:1/x") == Url("amqp://u:p@h:1/x")
    assert Url("amqp://h:1") != Url("amqp://h:2")


def test_ipv6_host_set_later_is_bracketed() -> None:
    url = Url("h:5")
    url.host = "::1"
    assert str(url) == "amqp://[::1]:5"


def test_non_ascii_host_becomes_idna() -> None:
    assert Url("amqp://bücher.example").host == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("amqp://host:abc", "not a port number"),
        ("amqp://host:99999", "out of range"),
        ("amqp://host:-1", "not a port number"),
        ("foo://host", "unknown scheme 'foo'"),
        ("http://host", "unknown scheme 'http'"),
        ("amqp://[::1", "unclosed"),
        ("amqp://[::1]x", "after IPv6 host"),
        ("amqp://[zz]:5", "not an IPv6 address"),
        ("amqp://::1", "must be in brackets"),
        ("amqp://x:5672:5", "more than one ':'"),
        ("amqp://user:pw@", "no host"),
        ("amqp://host?x=1", "invalid character '?'"),
        ("amqp://ho st", "invalid character ' '"),
    ],
)
def test_malformed_urls_raise_value_error(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="invalid URL") as info:
        Url(text)
    assert reason in str(info.value)


def test_error_names_url_without_password() -> None:
    with pytest.raises(ValueError) as info:
        Url("amqp://alice:s3cret@host:nope")
    assert "s3cret" not in str(info.value)
    assert "alice:***@host:nope" in str(info.value)


def test_non_string_url_is_type_error() -> None:
    with pytest.raises(TypeError):
        Url(5)  # type: ignore[arg-type]
