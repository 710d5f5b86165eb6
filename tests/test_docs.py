"""The documentation site (docs/): every example runs, the reference and the migration page are
complete.

- Every program in docs/examples/ (the pages show them with ``literalinclude``) runs here against
  the embedded broker on a free port, or RabbitMQ, or a TLS or SASL broker: the page's
  ``127.0.0.1:5672`` (and the like) is replaced by the real address before the run, and its
  output is checked against the output the page shows. Pages hold no other Python code, so no
  example goes untested. (tests/test_docs_blocks.py runs the pages' shell commands, and checks
  that every block of the site is run or says why not.)
- Read by Sphinx (in a subprocess), the API reference documents every name in ``__all__`` of each
  public module, and the migration page lists every known difference of the tests' tables.
  (``scripts/test.sh`` builds the HTML with warnings as errors, as its ``docs`` check.)
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.broker_process import ROOT, BrokerProcess, running_broker
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs, rabbitmq  # noqa: F401 (fixtures)
from tests.peers.kdc import Kdc
from tests.peers.ports import free_port
from tests.peers.rabbitmq import RabbitMQ
from tests.peers.sasldb import SaslDb
from tests.test_api_parity import ALLOWED
from tests.test_known_differences import KNOWN_DIFFERENCES

DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
PUBLIC_MODULES = ("amq_python", "amq_python.reactor", "amq_python.handlers",
                  "amq_python.utils", "amq_python.aio", "amq_python.tracing")
LOCAL = "127.0.0.1:5672"


def pages() -> list[Path]:
    """The source pages of the site."""
    return sorted(p for p in DOCS.rglob("*") if p.suffix in (".md", ".rst")
                  and "_build" not in p.parts and "examples" not in p.parts)


def shown_output(name: str) -> list[str] | None:
    """The output a page shows for docs/examples/NAME: the ``text`` block after its include,
    before any other code block; None when the page shows none."""
    include = re.compile(
        r"```\{literalinclude\} (?:\.\./)?examples/" + re.escape(name) + r"\n(?::[^\n]*\n)*```\n"
        r"[^`]*```text\n(.*?)```", re.DOTALL)
    for page in pages():
        found = include.search(page.read_text(encoding="utf-8"))
        if found:
            return found.group(1).splitlines()
    return None


def example(name: str, tmp_path: Path, replace: dict[str, str],
            env: dict[str, str] | None = None) -> list[str]:
    """Run docs/examples/NAME in ``tmp_path`` with each ``replace`` key (which must be in the
    program) replaced by its value; the lines it prints (it must exit with 0), which must be
    the output the page shows, if it shows one (with the replacements undone)."""
    source = (EXAMPLES / name).read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in source, f"{name} no longer contains {old!r}"
        source = source.replace(old, new)
    program = tmp_path / name
    program.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(program)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    lines = done.stdout.splitlines()
    shown = shown_output(name)
    if shown is not None:
        undone = list(lines)
        for old, new in replace.items():
            undone = [line.replace(new, old) for line in undone]
        assert undone == shown, f"the page shows another output for {name}"
    return lines


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    """One embedded broker for the module: each example uses its own addresses."""
    with running_broker() as process:
        yield process


def local(broker: BrokerProcess) -> dict[str, str]:
    return {LOCAL: f"127.0.0.1:{broker.port}"}


# ----- every example runs -----


def test_hello_world(broker: BrokerProcess, tmp_path: Path) -> None:
    assert example("hello_world.py", tmp_path, local(broker)) == ["Hello World!"]


def test_hello_rabbitmq(rabbitmq: RabbitMQ, tmp_path: Path) -> None:  # noqa: F811
    replace = {LOCAL: f"127.0.0.1:{rabbitmq.port}"}
    assert example("hello_rabbitmq.py", tmp_path, replace) == ["Hello RabbitMQ!"]


def test_event_objects(broker: BrokerProcess, tmp_path: Path) -> None:
    assert example("event_objects.py", tmp_path, local(broker)) == [
        "connection open, container job-processor-3",
        "sendable on events",
        "link closed; event.message is None",
    ]


def test_reconnect(broker: BrokerProcess, tmp_path: Path) -> None:
    """Each of the four policies connects (the broker is up): four connections."""
    assert example("reconnect.py", tmp_path, local(broker)) == ["connected"] * 4


def test_failover(broker: BrokerProcess, tmp_path: Path) -> None:
    """The dead first URL fails once, then the live second one is used."""
    dead = free_port()
    lines = example("failover.py", tmp_path,
                    {"127.0.0.1:5673": f"127.0.0.1:{dead}", **local(broker)})
    assert lines[0] == "attempt failed: proton:io", lines
    assert lines[1:] == [f"connected to amqp://127.0.0.1:{broker.port}"], lines


def test_send_and_track(broker: BrokerProcess, tmp_path: Path) -> None:
    assert example("send_and_track.py", tmp_path, local(broker)) == [
        "all 10 accepted; the last was 10"
    ]


def test_receive_and_acknowledge(broker: BrokerProcess, tmp_path: Path) -> None:
    assert example("receive_and_acknowledge.py", tmp_path, local(broker)) == [
        "0 accepted", "1 rejected", "2 accepted", "3 rejected"
    ]


def test_tls(certs: Certs, tmp_path: Path) -> None:  # noqa: F811
    with running_broker("--tls-cert", str(certs.server_cert),
                        "--tls-key", str(certs.server_key)) as tls:
        replace = {"localhost:5671": f"localhost:{tls.port}", '"ca.pem"': f'"{certs.ca_cert}"'}
        assert example("tls.py", tmp_path, replace) == ["encrypted: True"]


def test_sasl(tmp_path: Path) -> None:
    with SaslDb() as db:
        login = db.add_user("alice", "alice-secret")
        with running_broker("--sasl-config-dir", str(db.dir), "--sasl-mechanisms",
                            "SCRAM-SHA-256 PLAIN", "--require-auth") as secured:
            replace = {LOCAL: f"127.0.0.1:{secured.port}", "alice@EXAMPLE.COM": login,
                       '"secret"': '"alice-secret"'}
            assert example("sasl.py", tmp_path, replace) == ["logged in with SCRAM-SHA-256"]


def test_kerberos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real KDC: alice runs kinit, then the example logs in to a broker offering GSSAPI."""
    with Kdc() as realm, SaslDb(mechs=("GSSAPI",)) as config:
        with monkeypatch.context() as service:  # the broker starts with the service's keytab
            for name, value in realm.server_env.items():
                service.setenv(name, value)
            secured = BrokerProcess("--sasl-config-dir", str(config.dir), "--sasl-mechanisms",
                                    "GSSAPI", "--require-auth")
        try:
            assert realm.kinit("alice").returncode == 0
            replace = {"localhost:5672": f"localhost:{secured.port}"}
            assert example("kerberos.py", tmp_path, replace, env=realm.client_env) == [
                "logged in with GSSAPI"
            ]
        finally:
            secured.stop()


def test_aio_hello(broker: BrokerProcess, tmp_path: Path) -> None:
    assert example("aio_hello.py", tmp_path, local(broker)) == ["accepted", "Hello asyncio!"]


def test_blocking(broker: BrokerProcess, tmp_path: Path) -> None:
    assert example("blocking.py", tmp_path, local(broker)) == ["Hello blocking!"]


def test_transactions(broker: BrokerProcess, tmp_path: Path) -> None:
    """The commit is reported, and the three messages are on the queue afterwards."""
    assert example("transactions.py", tmp_path, local(broker)) == ["committed"]
    drained = subprocess.run(
        [sys.executable, "-m", "amq_python.tools.receive", "--url", broker.url, "-c", "3",
         "--timeout", "10", "-q", "tx-examples"],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )
    assert drained.returncode == 0, drained.stderr


def test_connect_config(broker: BrokerProcess, tmp_path: Path) -> None:
    """connect.json in the working directory, its port made the broker's."""
    config = (EXAMPLES / "connect.json").read_text(encoding="utf-8")
    assert '"port": 5672' in config
    (tmp_path / "connect.json").write_text(config.replace("5672", str(broker.port)))
    lines = example("connect_config.py", tmp_path, {}, env={"MESSAGING_CONNECT_FILE": ""})
    assert lines == ["connected with ANONYMOUS"]


def test_listen(tmp_path: Path) -> None:
    assert example("listen.py", tmp_path, {LOCAL: f"127.0.0.1:{free_port()}"}) == [
        "received to myself"
    ]


def test_tracing(broker: BrokerProcess, tmp_path: Path) -> None:
    assert example("tracing.py", tmp_path, local(broker)) == [
        "['CONSUMER', 'PRODUCER']", "one trace: True"
    ]


def test_tracing_aio(broker: BrokerProcess, tmp_path: Path) -> None:
    assert example("tracing_aio.py", tmp_path, local(broker)) == [
        "['CONSUMER', 'PRODUCER', 'PRODUCER']", "one trace: True"
    ]


def test_request_response(broker: BrokerProcess, tmp_path: Path) -> None:
    assert example("request_response.py", tmp_path, local(broker)) == ["0 HELLO", "1 WORLD"]


def test_every_example_is_tested_and_shown() -> None:
    """Each file of docs/examples has a test here and is included by a page, and each
    program's page shows what it prints (which its test checks)."""
    tested = set(re.findall(r'example\("(\w+\.py)"', Path(__file__).read_text()))
    shown = " ".join(page.read_text(encoding="utf-8") for page in pages())
    for path in (p for p in EXAMPLES.iterdir() if p.is_file()):  # not __pycache__
        if path.suffix == ".py":
            assert path.name in tested, f"{path.name} has no test in {__file__}"
            assert shown_output(path.name) is not None, f"no page shows what {path.name} prints"
        assert f"examples/{path.name}" in shown, f"no page shows {path.name}"


def test_pages_name_no_private_module() -> None:
    """Pages name public modules only: private ones move without notice."""
    for page in pages():
        found = re.search(r"amq_python(\.\w+)*\._[a-z]\w*", page.read_text(encoding="utf-8"))
        assert found is None, f"{page.relative_to(ROOT)} names {found.group(0)}"


def test_pages_have_no_untested_code() -> None:
    """Python code on the pages comes from docs/examples (tested above), never inline."""
    inline = re.compile(r"```\s*(\{code-block\}\s*)?(python|py|pycon)\b|code-block::\s*py|^>>> ",
                        re.MULTILINE)
    for page in pages():
        found = inline.search(page.read_text(encoding="utf-8"))
        assert found is None, f"{page.relative_to(ROOT)}: inline Python {found.group(0)!r}"


# ----- the reference and the migration page are complete -----


READ_SITE = """
import json, sys
from sphinx.application import Sphinx
docs, out = sys.argv[1:]
app = Sphinx(docs, docs, out + "/out", out + "/doctrees", "dummy", status=None, warning=None,
             freshenv=True)
app.build()
print(json.dumps({"objects": sorted(app.env.get_domain("py").objects),
                  "migrating": app.env.get_doctree("migrating").astext()}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a fresh read of the site by Sphinx finds: the documented Python objects and the
    migration page's text. Sphinx runs in a subprocess, as autodoc may alter what it imports."""
    out = tmp_path_factory.mktemp("docs")
    done = subprocess.run([sys.executable, "-c", READ_SITE, str(DOCS), str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_reference_documents_every_public_name(site: dict[str, Any]) -> None:
    documented = set(site["objects"])
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        missing = [n for n in module.__all__ if f"{module_name}.{n}" not in documented]
        assert not missing, f"{module_name}: not in the API reference: {missing}"


def test_migration_page_lists_every_difference(site: dict[str, Any]) -> None:
    text = site["migrating"]
    for key, (title, _) in KNOWN_DIFFERENCES.items():
        assert title in text and key in text, key
    for key in ALLOWED:
        assert key in text, key
