"""The app is private unless asked, and no visitor, link or upload can hurt it.

A link or an upload is input from anyone. Each test hands the app something hostile
(an alias bomb, a zlib bomb, ten million BRMs, a headcount of 10^18, junk values, a
path outside the results folder, a page that raises) and checks the app answers with
one plain line in one error box: no traceback, no Python or library internals, and
nothing applied of what it refused. The server's own settings (listening on this
machine only, refusing foreign host names) are checked on a running server.

Streamlit's AppTest drives the real app.py in this process (CONVERGE_WORKERS=1);
st.cache_data lives as long as the process, so the page's default comparison runs
once for the whole module.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import tomllib
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from simulation.inputs.scenario import with_overrides
from tests.conftest import (
    ALIAS_BOMB,
    ROOT,
    app_server,
    open_app,
    open_results,
    ready_made,
    swept,
)
from ui import common

#: What a visitor must never read in an error box.
INTERNALS = (
    "Traceback",
    "KeyError",
    "TypeError",
    "ValueError",
    "OverflowError",
    "RecursionError",
    "invalid literal",
    "dictionary update",
    "pydantic",
    "ValidationError",
    "object has no attribute",
)


pytestmark = pytest.mark.usefixtures("in_process")


def one_plain_line(at: AppTest, starting: str) -> str:
    """The one error box of the page, checked: it starts with ``starting``, is one line
    of plain words, and the page raised nothing. Returns its text as a visitor reads it."""
    assert not at.exception, at.exception[0].value
    boxes = [e.value for e in at.error]
    assert len(boxes) == 1, boxes
    text = shown(boxes[0])
    assert text.startswith(starting), text
    assert "\n" not in text and len(text) < 400, text
    for internal in INTERNALS:
        assert internal not in text, text
    return text


def shown(markdown: str) -> str:
    """Markdown source as it reads on screen, for text with backslash escapes only (and
    the invisible word joiners that keep "http://" from becoming a link)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(common.WORD_JOINER, "")


def raw_link(payload: str) -> str:
    """``payload`` (JSON text, not necessarily valid) packed the way the app packs links."""
    return base64.urlsafe_b64encode(zlib.compress(payload.encode(), 9)).decode().rstrip("=")


# --------------------------------------------------------------------------- links


def test_unpack_stops_a_zlib_bomb_at_the_link_limit():
    # 20 MB of spaces pack into about 20 kB of link: what comes out is bounded, not
    # what goes in
    bomb = raw_link('"' + " " * 20_000_000 + '"')
    assert len(bomb) <= common.MAX_LINK_CHARS
    with pytest.raises(ValueError, match=r"the link holds more than 1\.0 MB"):
        common.unpack(bomb)
    assert common.unpack(common.pack({"0": "x" * 1000})) == {"0": "x" * 1000}


@pytest.mark.parametrize(
    "payload",
    ["[" * 100_000 + "]" * 100_000, '{"0": {"brms": NaN}}', '{"0": {"brms": 1e999}}'],
    ids=["deep-nesting", "nan", "infinite"],
)
def test_unpack_refuses_what_json_allows_but_a_link_must_not_carry(payload):
    with pytest.raises(ValueError, match="the link is damaged or incomplete"):
        common.unpack(raw_link(payload))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"s": "siloed,nowhere"}, "s: there is no ready-made scenario 'nowhere'"),
        ({"s": "siloed,*3"}, "u: the link does not carry the organisation '*3'"),
        ({"s": "*0", "u": "not-base64!!"}, "u: the link is damaged"),
        ({"s": "*1", "u": common.pack({"1": 5})}, "the link does not carry the organisation"),
        ({"s": "*1", "u": common.pack(["not", "a", "mapping"])}, "u: the link is damaged"),
        ({"s": "*1", "u": raw_link("[" * 50_000 + "]" * 50_000)}, "u: the link is damaged"),
        ({"s": "*1", "u": raw_link('{"1": "' + "#" * 5_000_000 + '"}')}, "holds more than"),
        ({"s": "siloed", "lv": common.pack([1, 2])}, "lv: the link is damaged"),
        ({"s": "siloed", "lv": common.pack({"0": "brms"})}, "expected levers by name"),
        ({"s": "siloed", "lv": raw_link('{"0": {"brms": Infinity}}')}, "lv: the link is damaged"),
        ({"s": "siloed", "lv": common.pack({"0": {"brms": 1e300}})}, "brms"),
        ({"s": "siloed", "lv": common.pack({"0": {"brms": "many"}})}, "brms: expected a number"),
        ({"s": "siloed", "lv": common.pack({"0": {"brms": "9" * 5000}})}, "brms: expected"),
        ({"s": "siloed", "lv": common.pack({"0": {"x" * 5000: 1}})}, "is not a lever setting"),
        ({"s": "siloed,aligned,converged,pdca,siloed"}, "s: names 5 organisations; at most 4"),
        ({"s": "siloed", "r": "abc"}, "r: expected a whole number from 1 to 30, got 'abc'"),
        ({"s": "siloed", "r": "0"}, "r: expected a whole number from 1 to 30"),
        ({"s": "siloed", "seed": "-5"}, "seed: expected a whole number from 0"),
        ({"s": "siloed", "seed": "1" * 30}, "seed: expected a whole number from 0"),
    ],
    ids=[
        "unknown-name",
        "missing-carried",
        "carried-not-base64",
        "carried-not-text",
        "carried-not-a-mapping",
        "carried-nested",
        "carried-zlib-bomb",
        "levers-not-a-mapping",
        "levers-of-one-not-a-mapping",
        "lever-infinite",
        "lever-huge-float",
        "lever-a-word",
        "lever-huge-text",
        "lever-long-name",
        "five-organisations",
        "replicates-not-a-number",
        "replicates-zero",
        "seed-negative",
        "seed-huge",
    ],
)
def test_a_junk_link_gets_one_plain_line_and_changes_nothing(query, expected):
    at = open_app(**query)
    text = one_plain_line(at, "This link could not be opened: ")
    assert expected in text
    # nothing of the link was applied: the page opens on its usual start
    assert at.session_state["selection"] == ["siloed", "aligned", "converged"]
    assert at.session_state["levers"] == {}
    assert at.slider(key="cmp_reps").value == 10


def test_a_link_may_not_name_a_markdown_link_or_image():
    # the error box quotes the link: what it quotes must read as text, not as a link
    # to someone else's site or an image fetched from it
    at = open_app(s="siloed,[a](http://e.o)![i](http://e.o/i)")
    assert "[a](http://e.o)![i](http://e.o/i)" in one_plain_line(at, "This link could not")
    source = at.error[0].value
    joined = f"http:{common.WORD_JOINER}//"
    assert f"\\[a\\]({joined}e.o)\\!\\[i\\]({joined}e.o/i)" in source


# These wait on the scenario bounds and YAML budget of simulation/scenario.py and
# simulation/safe_yaml.py: before them, each would run for minutes and gigabytes.


def test_an_alias_bomb_in_a_link_is_refused():
    at = open_app(s="*1", u=common.pack({"1": ALIAS_BOMB}), r="1", seed="2101")
    text = one_plain_line(at, "This link could not be opened: ")
    assert "expands to more than" in text
    assert at.session_state["selection"] == ["siloed", "aligned", "converged"]


def test_ten_million_brms_in_a_link_are_refused():
    at = open_app(s="siloed", lv=common.pack({"0": {"brms": 10_000_000}}), r="1", seed="2102")
    text = one_plain_line(at, "This link could not be opened: ")
    assert "brms" in text
    assert at.session_state["levers"] == {}


def test_a_headcount_of_ten_to_the_eighteen_in_a_link_is_refused():
    at = open_app(s="siloed", lv=common.pack({"0": {"headcount.dev": 10**18}}), r="1", seed="2103")
    text = one_plain_line(at, "This link could not be opened: ")
    assert "headcount" in text
    assert at.session_state["levers"] == {}


def test_a_carried_scenario_with_a_headcount_of_ten_to_the_eighteen_is_refused():
    huge = ready_made("converged").model_dump(mode="json")
    huge["disciplines"][0]["headcount"] = 10**18
    text = json.dumps(huge)  # JSON is YAML: the link carries it as scenario text
    at = open_app(s="*1", u=common.pack({"1": text}), r="1", seed="2104")
    assert "headcount" in one_plain_line(at, "This link could not be opened: ")


# --------------------------------------------------------------------------- uploads


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    return at.file_uploader[0].set_value((name, content, "application/x-yaml")).run()


def test_the_upload_limit_is_one_number_for_the_server_the_uploader_and_the_app():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == common.MAX_UPLOAD_MB
    assert common.MAX_UPLOAD_BYTES == common.MAX_UPLOAD_MB * 1024 * 1024  # Streamlit's MB
    at = open_app(s="siloed", r="1", seed="2201")
    assert at.file_uploader[0].proto.max_upload_size_mb == common.MAX_UPLOAD_MB
    assert f"at most {common.MAX_UPLOAD_MB} MB" in at.file_uploader[0].proto.help


def test_an_upload_up_to_the_limit_is_taken_and_one_over_it_refused():
    data = with_overrides(ready_made("aligned"), {"name": "Padded plan"}).to_yaml().encode()
    fits = data + b"\n#" + b"-" * (common.MAX_UPLOAD_BYTES - len(data) - 3)
    assert len(fits) == common.MAX_UPLOAD_BYTES - 1
    at = upload(open_app(s="siloed", r="1", seed="2202"), "padded.yaml", fits)
    assert not at.exception and not at.error
    assert "upload:Padded plan" in at.multiselect[0].value

    at = upload(open_app(s="siloed", r="1", seed="2202"), "big.yaml", fits + b"--")
    text = one_plain_line(at, "Could not use this file. big.yaml: the file is 1.0 MB")
    assert f"the limit is {common.MAX_UPLOAD_MB} MB" in text


def test_an_alias_bomb_upload_is_refused():  # waits on the YAML budget (see above)
    at = upload(open_app(s="siloed", r="1", seed="2203"), "lol.yaml", ALIAS_BOMB.encode())
    text = one_plain_line(at, "Could not use this file. lol.yaml: ")
    assert "expands to more than" in text
    assert len(at.metric) == 8, "the comparison still shows"


def test_the_error_box_of_an_upload_goes_with_its_file():
    at = upload(open_app(s="siloed", r="1", seed="2204"), "bad.yaml", b"brms: {count: -3}\n")
    assert "bad.yaml" in one_plain_line(at, "Could not use this file. ")
    at = upload(at, "other.yaml", b"structure: matrix\n")
    text = one_plain_line(at, "Could not use this file. other.yaml")
    assert "bad.yaml" not in text
    at.file_uploader[0].set_value(None).run()
    assert not at.exception and not at.error


# --------------------------------------------------------------------------- any page


def test_an_exception_a_page_did_not_expect_is_one_error_box(monkeypatch):
    import simulation.analysis.comparison

    def broken(*args, **kwargs):
        raise RuntimeError("the summary broke\nFile '/secret/path.py', line 3")

    monkeypatch.setattr(simulation.analysis.comparison, "summary_sentences", broken)
    at = open_app(s="siloed", r="1", seed="2301")
    text = one_plain_line(at, "Something went wrong on this page (RuntimeError: the summary broke)")
    assert "secret" not in text
    assert len(at.metric) == 8, "what the page drew before the exception stays"


def test_the_config_hides_tracebacks_from_visitors():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True


# --------------------------------------------------------------------------- results


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    """A results folder with one small sweep in it, and another sweep outside it."""
    base = tmp_path_factory.mktemp("results-root")
    root, outside = base / "results", base / "elsewhere"
    for out in (root / "brm", outside / "secret-sweep"):
        swept(out, name=f"Sweep {out.name}", parameters={"brms.count": [0, 3]}, replicates=1)
    (root / "not-a-sweep").mkdir()
    (root / "link-out").symlink_to(outside / "secret-sweep")
    return root, outside


def test_results_opens_a_sweep_in_the_results_folder(monkeypatch, folders):
    root, _ = folders
    for path in ("brm", str(root / "brm"), "not-a-sweep/../brm"):
        at = open_results(monkeypatch, root, path)
        assert not at.exception and not at.error
        assert "Sweep brm" in " ".join(h.value for h in at.subheader)
    assert at.selectbox(key="rs_pick").options == ["brm"]  # the symlink out is not listed


def test_results_answers_the_same_for_all_it_will_not_open(monkeypatch, folders):
    root, outside = folders
    refused = {
        "outside, absolute": str(outside / "secret-sweep"),
        "outside, by ..": "../elsewhere/secret-sweep",
        "outside, by a symlink": "link-out",
        "missing": "nowhere",
        "not a sweep": "not-a-sweep",
        "a file": "brm/manifest.json",
        "the root itself": ".",
        "a NUL byte": "brm\x00",
    }
    answers = set()
    for case, path in refused.items():
        at = open_results(monkeypatch, root, path)
        text = one_plain_line(at, "There is no sweep at ")
        assert not at.metric, case
        answers.add(text.replace(common.short_quote(path), "PATH"))
    assert len(answers) == 1, answers  # one message: it tells nothing of what exists
    assert "results folder" in answers.pop()


# --------------------------------------------------------------------------- the server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[int]:
    """The app's server, as `make app` starts it; its port."""
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    with app_server(log_path, {**os.environ, "CONVERGE_WORKERS": "1"}) as port:
        yield port


def listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (Linux: /proc/net/tcp*)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_the_server_listens_on_this_machine_only(server):
    addresses = listening_addresses(server)
    assert addresses, "nothing listens on the server's port"
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert set(addresses) <= loopback, f"listening on {addresses}, not only on loopback"


def websocket_handshake(port: int, host: str) -> str:
    """The status line the app's WebSocket answers a browser that calls it ``host``."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: streamlit\r\nOrigin: http://{host}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request.encode())
        return connection.recv(4096).decode("latin-1").split("\r\n")[0]


def test_the_server_refuses_a_page_that_calls_it_by_another_name(server):
    # DNS rebinding: a site makes its own name resolve to 127.0.0.1, then its page
    # talks to the app as to its own origin. Only this machine's names are answered.
    assert " 101 " in websocket_handshake(server, f"127.0.0.1:{server}")
    assert " 101 " in websocket_handshake(server, f"localhost:{server}")
    assert " 101 " not in websocket_handshake(server, f"rebound.example.org:{server}")


def test_a_page_opened_directly_needs_no_guess_of_where_the_server_is(server):
    # Opened at /design, Streamlit's page would ask /design/_stcore/health first (two
    # 404s in the console); the app serves the page with the server's place set.
    for page in ("design", "transition", "workshop", "results"):
        with urllib.request.urlopen(f"http://127.0.0.1:{server}/{page}?x=1", timeout=10) as r:
            html = r.read().decode()
        assert "window.__streamlit" in html and "BACKEND_BASE_URL" in html, page
    with urllib.request.urlopen(f"http://127.0.0.1:{server}/", timeout=10) as r:
        assert 'id="root"' in r.read().decode()  # the start page is Streamlit's own
