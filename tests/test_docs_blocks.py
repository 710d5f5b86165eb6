"""Every code block of the docs is run by a test, or is built from a run, or says why not.

The inventory: Sphinx reads the site (in a subprocess) and lists every literal block of every
page, the docstrings the API reference shows included. Each block must be one of:

- a program of docs/examples (``literalinclude``): tests/test_docs.py runs each;
- the output a page shows right after such a program, which that run compares with what the
  program printed;
- the output of a command run while the site is built (the ``command-output`` directive of
  docs/_ext/amq_docs.py, used for ``python -m amq_python.diagnose``);
- a block the page names (``{code-block}`` with ``:name:``), or a docstring's block, that a test
  in ``RUN`` fetches (``docs_block(NAME)``, ``docstring_block(MODULE)``) and runs;
- a named block in ``NOT_RUN``, with the reason.

README.md's blocks are claimed the same way, each by a text that it alone contains and that
its test selects it by.

The shell blocks run as written, line by line, from a temporary directory, with the venv's
``bin`` first on PATH, in a network namespace of their own (``PrivateNetwork``): there the
pages' fixed ports, 5672 and 5671, are free, so no port is rewritten. The only replacements are
the pages' placeholders, each named where it is replaced: ``DIR`` (a directory of the test's),
and the program names ``my_program.py`` and ``my_package.main`` (programs the test writes).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import amq_python
from tests.docs_blocks import (
    DOCS,
    ROOT,
    PrivateNetwork,
    Server,
    commands,
    docs_block,
    docstring_block,
    named_blocks,
    run_on_terminal,
)
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs  # noqa: F401 (fixture)
from tests.test_docs import shown_output

EXAMPLES = DOCS / "examples"
HERE = "tests/test_docs_blocks.py"

# Block (a page's :name:, or "docstring of MODULE") -> the test that runs it.
RUN = {
    "install": "tests/test_packaging.py::test_getting_started_install_block",
    "start-broker": f"{HERE}::test_start_broker_then_hello_world",
    "broker-commands": f"{HERE}::test_broker_commands",
    "sasl-config": f"{HERE}::test_broker_commands",
    "sasl-user": f"{HERE}::test_broker_commands",
    "tool-commands": f"{HERE}::test_tool_commands",
    "tool-output": f"{HERE}::test_tool_commands",
    "compat-runner": f"{HERE}::test_compat_runner",
    "frame-trace": f"{HERE}::test_frame_trace",
    "docstring of amq_python.aio": f"{HERE}::test_aio_docstring_example",
}

# Named blocks that no test runs, and why.
NOT_RUN = {
    "url-syntax": "the grammar of a connection URL, not a command or a program",
    "soak-result": "what the last soak run printed (make soak: a million messages, minutes of "
                   "CPU); a record of a result, not an example",
}

# README.md's blocks: (what the block contains, the test that runs it or why none does).
README_BLOCKS = [
    ("amq-broker", "tests/test_readme.py::test_quick_start_lines_run_as_written"),
    ("class HelloWorld", "tests/test_readme.py::test_tour_program_runs_against_the_broker"),
    ("async for delivery in receiver", "tests/test_aio_examples.py::test_readme_asyncio_program"),
    ("amq_python.tracing",
     "tests/test_tracing_aio.py::test_readme_tracing_program_traces_both_apis"),
    ("bash scripts/demo.sh", "not run: scripts/test.sh is the command that runs this suite, and "
                             "both scripts install into the checkout's .venv, which the "
                             "running suite is using"),
    ("proton_ext/", "not run: the repository's layout, not code"),
]


# ----- the inventory -----


READ_BLOCKS = """
import json, sys
from docutils import nodes
from sphinx.application import Sphinx
docs, out = sys.argv[1:]
app = Sphinx(docs, docs, out + "/out", out + "/doctrees", "dummy", status=None, warning=None,
             freshenv=True)
app.build()
blocks = []
for doc in sorted(app.env.found_docs):
    previous = None
    for node in app.env.get_doctree(doc).findall(nodes.literal_block):
        blocks.append({"doc": doc, "line": node.line, "source": node.source,
                       "names": node["names"], "include": node.get("source"),
                       "after": previous, "command": node.get("amq_command"),
                       "text": node.astext()})
        previous = node.get("source")
print(json.dumps(blocks))
"""


@pytest.fixture(scope="module")
def blocks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every literal block of the site as Sphinx reads it, in page order."""
    out = tmp_path_factory.mktemp("docs")
    done = subprocess.run([sys.executable, "-c", READ_BLOCKS, str(DOCS), str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def claim(block: dict[str, Any]) -> str:
    """Which kind of tested (or excused) block this is; fails on any other."""
    where = f"{block['doc']} line {block['line']}: {block['text'][:60]!r}"
    if block["include"]:
        assert Path(block["include"]).parent == EXAMPLES, f"{where}: not from docs/examples"
        return "example"
    if block["command"]:
        return "command-output"
    after = Path(block["after"] or "")
    if after.parent == EXAMPLES and shown_output(after.name) == block["text"].splitlines():
        return "output"
    if block["names"]:
        [name] = block["names"]
        assert name in RUN or name in NOT_RUN, f"{where}: {name} is neither run nor excused"
        assert block["text"] == named_blocks()[name].rstrip("\n"), f"{where}: read otherwise"
        return name
    docstring = re.search(r":docstring of ([\w.]+)$", block["source"] or "")
    assert docstring is not None, f"{where}: give it a :name: and a test (or a reason)"
    assert block["text"] == docstring_block(docstring[1]), f"{where}: read otherwise"
    return f"docstring of {docstring[1]}"


def test_every_block_is_run_or_excused(blocks: list[dict[str, Any]]) -> None:
    """Each block is claimed, and each entry of RUN and NOT_RUN names a block that exists."""
    claimed = [claim(block) for block in blocks]
    for kind in ("example", "output", "command-output"):
        assert kind in claimed, kind
    keys = {key for key in claimed if key not in ("example", "output", "command-output")}
    assert keys == set(RUN) | set(NOT_RUN)


def test_each_runner_fetches_its_block() -> None:
    """The test RUN names for a block exists and reads that very block."""
    for key, node_id in RUN.items():
        path, function = node_id.split("::")
        source = (ROOT / path).read_text(encoding="utf-8")
        body = re.search(rf"^def {function}\(.*?(?=^def |\Z)", source, re.MULTILINE | re.DOTALL)
        assert body is not None, f"{node_id} does not exist"
        fetch = (f'docstring_block("{key.split()[-1]}")' if key.startswith("docstring of ")
                 else f'docs_block("{key}")')
        assert fetch in body.group(0), f"{node_id} does not call {fetch}"


def test_readme_blocks_are_run_or_excused() -> None:
    """Each fenced block of README.md is one of README_BLOCKS, whose test reads it by the same
    mark, or has a reason."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"^```[^\n]*\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    marks = [[mark for mark, _ in README_BLOCKS if mark in block] for block in found]
    assert [len(m) for m in marks] == [1] * len(found), marks
    assert sorted(m[0] for m in marks) == sorted(mark for mark, _ in README_BLOCKS)
    for mark, node_id in README_BLOCKS:
        if node_id.startswith("not run: "):
            continue
        path, function = node_id.split("::")
        source = (ROOT / path).read_text(encoding="utf-8")
        body = re.search(rf"^def {function}\(.*?(?=^def |\Z)", source, re.MULTILINE | re.DOTALL)
        assert body is not None and f'"{mark}" in ' in body.group(0), node_id


def test_diagnose_output_is_made_at_build_time(blocks: list[dict[str, Any]]) -> None:
    """The operations page shows python -m amq_python.diagnose as run by the build."""
    [shown] = [block for block in blocks if block["command"]]
    assert shown["doc"] == "operations"
    lines = shown["text"].splitlines()
    assert lines[0] == "$ python -m amq_python.diagnose"
    assert lines[1].split()[:2] == ["amq_python", amq_python.__version__]
    assert [line.split("  ")[0] for line in lines[1:]] == [
        "amq_python", "Python", "Qpid Proton C", "OpenSSL", "TLS", "Cyrus SASL",
        "SASL client offers", "SASL server offers",
    ]


# ----- the shell blocks, run as written -----


@pytest.fixture
def network() -> Iterator[PrivateNetwork]:
    """A network namespace of the test's own."""
    private = PrivateNetwork()
    try:
        yield private
    finally:
        private.close()


@contextmanager
def serving(network: PrivateNetwork, command: str, cwd: Path) -> Iterator[Server]:
    """A server's command line, running until the block ends; it must exit with 0 on SIGTERM."""
    server = network.start(command, cwd, cwd / "server.log")
    try:
        yield server
    except BaseException:
        server.stop()
        raise
    assert server.stop() == 0, server.log()


def broker(network: PrivateNetwork, cwd: Path) -> Any:
    """The getting-started page's broker, on 127.0.0.1:5672."""
    [command] = commands(docs_block("start-broker"))
    return serving(network, command, cwd)


def ran(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines a command printed; it must have exited with 0."""
    assert done.returncode == 0, f"{done.args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout.splitlines()


def example(name: str, cwd: Path) -> str:
    """Copy docs/examples/NAME, unchanged, into ``cwd``; the command that runs it."""
    shutil.copy(EXAMPLES / name, cwd / name)
    return f"python {name}"


def test_start_broker_then_hello_world(network: PrivateNetwork, tmp_path: Path) -> None:
    """Getting started: the broker line, then the hello world program as the page shows it."""
    [command] = commands(docs_block("start-broker"))
    with serving(network, command, tmp_path) as started:
        assert (started.host, started.port) == ("127.0.0.1", 5672)
        printed = ran(network.run(example("hello_world.py", tmp_path), tmp_path))
        assert printed == shown_output("hello_world.py") == ["Hello World!"]


def test_broker_commands(network: PrivateNetwork, certs: Certs,  # noqa: F811
                         tmp_path: Path) -> None:
    """The broker page's four command lines, each then used by a client: plain, a free port
    with a log, TLS (the TLS example of the security page connects), SASL with the page's
    configuration and saslpasswd2 line (the SASL example logs in; an anonymous client is
    refused). DIR is a directory of the test's."""
    for source, name in ((certs.server_cert, "server.pem"), (certs.server_key, "server-key.pem"),
                         (certs.ca_cert, "ca.pem")):
        shutil.copy(source, tmp_path / name)
    config = tmp_path / "sasl"
    config.mkdir()
    (config / "proton-server.conf").write_text(
        docs_block("sasl-config").replace("DIR", str(config)), encoding="utf-8")
    [add_user] = commands(docs_block("sasl-user"))
    status, said = run_on_terminal(add_user.replace("DIR", str(config)), tmp_path,
                                   [("Password:", "secret"), ("Again", "secret")])
    assert status == 0, said
    lines = commands(docs_block("broker-commands"))
    assert len(lines) == 4, lines
    plain, verbose, tls, sasl = lines
    with serving(network, plain, tmp_path) as started:
        assert started.port == 5672
        assert ran(network.run("amq-send -q q && amq-receive -c 1 q", tmp_path)) == ["message 0"]
    with serving(network, verbose, tmp_path) as started:
        assert started.host == "127.0.0.1" and started.port not in (0, 5672)
        url = f"amqp://127.0.0.1:{started.port}"
        assert ran(network.run(f"amq-send --url {url} -q q && amq-receive --url {url} -c 1 q",
                               tmp_path)) == ["message 0"]
    assert "amq_python.broker INFO connection from" in started.log()
    with serving(network, tls, tmp_path) as started:
        assert started.port == 5671
        assert ran(network.run(example("tls.py", tmp_path), tmp_path)) == \
            shown_output("tls.py") == ["encrypted: True"]
    with serving(network, sasl.replace("DIR", str(config)), tmp_path) as started:
        assert started.port == 5672
        assert ran(network.run(example("sasl.py", tmp_path), tmp_path)) == \
            shown_output("sasl.py") == ["logged in with SCRAM-SHA-256"]
        refused = network.run("amq-send -q --timeout 10 q", tmp_path)
        assert refused.returncode == 1, (refused.stdout, refused.stderr)


def test_tool_commands(network: PrivateNetwork, tmp_path: Path) -> None:
    """The amq-send / amq-receive lines, in order, through the getting-started broker; what
    they print is the output the page shows."""
    printed: list[str] = []
    with broker(network, tmp_path):
        for command in commands(docs_block("tool-commands")):
            printed += ran(network.run(command, tmp_path))
    assert printed == docs_block("tool-output").splitlines()


def test_compat_runner(network: PrivateNetwork, tmp_path: Path) -> None:
    """Both compat lines, with my_program.py and my_package.main a hello world written for
    python-qpid-proton (the docs example with its imports changed back to proton) that also
    prints its arguments and whether proton is amq_python."""
    proton_program = (EXAMPLES / "hello_world.py").read_text(encoding="utf-8").replace(
        "from amq_python", "from proton")
    assert proton_program.count("from proton") == 3
    proton_program = "import sys\n\nimport proton\nimport amq_python\n" + proton_program + (
        "print(sys.argv[1:], proton.Message is amq_python.Message)\n")
    (tmp_path / "my_program.py").write_text(proton_program, encoding="utf-8")
    (tmp_path / "my_package").mkdir()
    (tmp_path / "my_package" / "__init__.py").write_text("")
    (tmp_path / "my_package" / "main.py").write_text(proton_program, encoding="utf-8")
    lines = commands(docs_block("compat-runner"))
    assert len(lines) == 2, lines
    with broker(network, tmp_path):
        assert ran(network.run(lines[0], tmp_path)) == [
            "Hello World!", "['--its', '--own', '--arguments'] True"
        ]
        assert ran(network.run(lines[1], tmp_path)) == ["Hello World!", "[] True"]


def test_frame_trace(network: PrivateNetwork, tmp_path: Path) -> None:
    """PN_TRACE_FRM=1 with my_program.py the hello world example: it still prints its message,
    and standard error has the frames the page names, sent and received."""
    shutil.copy(EXAMPLES / "hello_world.py", tmp_path / "my_program.py")
    [command] = commands(docs_block("frame-trace"))
    with broker(network, tmp_path):
        done = network.run(command, tmp_path)
    assert ran(done) == ["Hello World!"]
    frames = [line.split("]: ", 1)[1] for line in done.stderr.splitlines() if "]: " in line]
    for frame in ("-> @open(16) [container-id=", "<- @attach(18) [", "-> @transfer(20) ["):
        assert any(frame in line for line in frames), (frame, done.stderr)
    page = (DOCS / "operations.md").read_text(encoding="utf-8")
    assert "`-> @open(16) [container-id=...]`" in page and "`-> @transfer(20) [...]`" in page


def test_aio_docstring_example(network: PrivateNetwork, tmp_path: Path) -> None:
    """The program amq_python.aio's docstring shows (the API reference shows it too) runs
    through the getting-started broker."""
    (tmp_path / "aio_docstring.py").write_text(docstring_block("amq_python.aio") + "\n")
    with broker(network, tmp_path):
        assert ran(network.run("python aio_docstring.py", tmp_path)) == ["hi"]


# ----- the parts the site must have -----


# Page -> the headings that cover what issue 17 lists for it.
SECTIONS = {
    "getting-started.md": ["Install", "Hello world through the embedded broker",
                           "The same against RabbitMQ"],
    "guide/events-and-containers.md": ["Handling messaging events", "The container"],
    "guide/connections.md": ["Connection URLs", "Opening a connection", "Reconnect", "Failover"],
    "guide/sending-and-receiving.md": ["Sending messages", "Tracking sent messages",
                                       "Receiving messages", "Acknowledging received messages"],
    "guide/security.md": ["TLS", "A user and a password", "Kerberos"],
    "guide/asyncio.md": ["Handlers on the asyncio loop", "The aio API"],
    "guide/blocking.md": ["The blocking API"],
    "guide/transactions.md": ["Transactions"],
    "guide/connect-config.md": ["connect.json"],
    "guide/tracing.md": ["Tracing and metrics"],
    "guide/broker-and-tools.md": ["The embedded broker", "amq-send and amq-receive"],
    "migrating.md": ["Change the imports", "Or run the program as it is", "Behaviours that differ",
                     "Signatures that differ"],
    "api/index.md": ["API reference"],
    "operations.md": ["What this machine supports", "Logging", "Frame traces",
                      "Performance and reliability"],
}


def test_site_has_the_sections_the_issue_lists() -> None:
    """Each page has its headings; operations reaches performance, benchmarks (bench/RESULTS.md)
    and reliability."""
    for page, headings in SECTIONS.items():
        text = (DOCS / page).read_text(encoding="utf-8")
        found = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
        assert set(headings) <= set(found), (page, sorted(set(headings) - set(found)))
    operations = (DOCS / "operations.md").read_text(encoding="utf-8")
    assert re.search(r"```\{toctree\}\n(:[^\n]*\n)*\nperformance\nbenchmarks\nreliability\n",
                     operations)
    assert "```{include} ../bench/RESULTS.md" in (DOCS / "benchmarks.md").read_text()
