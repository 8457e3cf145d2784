"""The web view over a polled local site: the JSON API, the pages, their headers, the
token, the refusal to listen beyond loopback without one, and no secret anywhere."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.observe import Metrics, Request, Response, serve
from monitor.store import Store
from monitor.text import is_loopback
from monitor.web import check_bind, web_handler
from tests.clikit import Result
from tests.faultserver import FaultServer
from tests.sitekit import MailSink, free_port
from tests.webkit import HOSTILE, OPEN_LETTER, SECRETS, TOKEN, serve_all, start_web, write_config

PAGES = ["/", "/stories", "/sources", "/alerts", "/search?q=Amazon+IA+licenciements"]
APIS = ["/api/overview", "/api/stories", "/api/sources", "/api/alerts",
        "/api/search?q=Amazon+IA+licenciements"]  # fmt: skip


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        serve_all(server)
        yield server


@pytest.fixture
def polled(
    tmp_path: Path, db_url: str, site: FaultServer, mail: MailSink, run_cli: Callable[..., Result]
) -> Path:
    """The config, after one ``run --once`` over the local site stored it in db_url."""
    config = write_config(tmp_path, site, mail, http='http: {token: "${WEB_TOKEN:-}"}')
    out = run_cli("--config", str(config), "run", "--once", env={"MONITOR_DATABASE_URL": db_url})
    assert out.code == 0, out.err
    assert len(mail.messages) == 2  # the open letter and the hostile copy of its words
    return config


async def _health() -> tuple[bool, str]:
    return True, "ok\n"


@pytest.fixture
async def app(polled: Path, db_url: str) -> AsyncIterator[Any]:
    config = load_config(polled, env={**os.environ, "MONITOR_DATABASE_URL": db_url})
    store = Store(db_url)
    handler = web_handler(lambda: config, store, Metrics(), _health)

    async def get(target: str, **headers: str) -> Response:
        parts = urlsplit(target)
        request = Request("GET", parts.path, parse_qs(parts.query), headers)
        return await handler(request)

    yield get
    await asyncio.to_thread(store.close)


def _json(response: Response) -> Any:
    assert response.status == 200, response.body[:300]
    assert response.content_type.startswith("application/json")
    return json.loads(response.body)


async def test_api_answers_stories_story_search_sources_alerts(app: Any) -> None:
    sources = _json(await app("/api/sources"))["items"]
    assert {s["name"] for s in sources} == {"qdn-tech", "ledger-business", "partner-wire",
                                            "hostile-news"}  # fmt: skip
    assert all(s["state"] == "ok" and s["articles_per_day"][-1] >= 1 for s in sources)

    stories = _json(await app("/api/stories"))
    letter = next(s for s in stories["items"] if s["title"] == OPEN_LETTER)
    assert sorted(letter["outlets"]) == ["partner-wire", "qdn-tech"] and letter["articles"] == 2
    assert letter["rules"] == ["amazon-ia-licenciements"]
    assert stories["total"] == len(stories["items"]) == 5 - 1  # the copy joined its story
    created = [s["created"] for s in stories["items"]]
    assert created == sorted(created, reverse=True)

    story = _json(await app(f"/api/stories/{letter['id']}"))
    assert {d["channel"]: d["status"] for d in story["deliveries"]} == {
        "team-mail": "sent", "ops-hook": "sent",
    }  # fmt: skip
    assert all(d["attempts"] == 1 and d["sent_at"] for d in story["deliveries"])
    first = story["articles"][0]
    marked = {first["body"][s:e].lower() for s, e in first["body_highlights"]}
    assert {"amazon", "ia", "licenciements"} <= marked

    found = _json(await app("/api/search?q=Amazon+IA+licenciements"))
    titles = [r["title"] for r in found["items"]]
    assert OPEN_LETTER in titles and HOSTILE in titles and found["total"] == 2
    assert len(titles) == 2  # the open letter's two outlets make one result
    hit = next(r for r in found["items"] if r["title"] == OPEN_LETTER)
    assert sorted(hit["outlets"]) == ["partner-wire", "qdn-tech"]
    assert hit["matching_articles"] == 2
    words = {hit["snippet"][s:e].lower() for s, e in hit["highlights"]}
    assert "amazon" in words and hit["highlights"]

    alerts = _json(await app("/api/alerts"))
    assert len(alerts["items"]) == 4 and {a["status"] for a in alerts["items"]} == {"sent"}
    assert len(_json(await app("/api/alerts?status=dead"))["items"]) == 0


async def test_pages_render_escape_and_carry_strict_headers(app: Any) -> None:
    for target in [*PAGES, "/stories/1", "/static/style.css", "/nope", "/api/stories/999"]:
        response = await app(target)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "style-src 'self'" in csp, target
        assert "script-src" not in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    home = (await app("/")).body.decode()
    assert '<meta name="viewport"' in home and "<script" not in home.lower()
    assert "qdn-tech" in home and "ledger-business" in home
    assert "&lt;script&gt;window.pwned" in home  # the hostile title, as text
    search = (await app("/search?q=Amazon+IA+licenciements")).body.decode()
    assert "<mark>" in search and "<script" not in search.lower()
    assert (await app("/nope")).status == 404
    assert (await app("/api/stories/999")).status == 404
    assert (await app("/stories?page=zero")).status == 400
    bad = await app("/api/search?q=%22unclosed")
    assert bad.status == 400 and "invalid query" in json.loads(bad.body)["error"]


async def test_no_secret_on_any_page_or_api_answer(app: Any) -> None:
    stories = _json(await app("/api/stories"))["items"]
    targets = [*PAGES, *APIS, *(f"/stories/{s['id']}" for s in stories),
               *(f"/api/stories/{s['id']}" for s in stories)]  # fmt: skip
    for target in targets:
        body = (await app(target)).body.decode()
        for secret in SECRETS:
            assert secret not in body, (target, secret)


def test_scrub_blanks_a_secret_that_reached_the_database(db_url: str, polled: Path) -> None:
    from tests.sitekit import HOOK_SECRET

    store = Store(db_url)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE outbox SET status = 'failed', last_error = "
                f"'HTTP 500 from https://hooks.example/?key={HOOK_SECRET}'"
            )
        config = load_config(polled, env={**os.environ, "MONITOR_DATABASE_URL": db_url})
        handler = web_handler(lambda: config, store, Metrics(), _health)
        body = asyncio.run(handler(Request("GET", "/api/alerts"))).body.decode()
    finally:
        store.close()
    assert "HTTP 500 from" in body and HOOK_SECRET not in body and "***" in body


def _config_with_token(tmp_path: Path, token: str | None) -> Config:
    from monitor.config import parse_config

    text = f"http: {{token: {token}}}\n" if token else ""
    return parse_config(text + f"database: sqlite:///{tmp_path / 'm.db'}\n")


async def test_token_bearer_or_once_in_the_query_then_a_cookie(tmp_path: Path) -> None:
    config = _config_with_token(tmp_path, TOKEN)
    store = Store(config.database)
    store.migrate()
    handler = web_handler(lambda: config, store, Metrics(), _health)
    try:
        assert (await handler(Request("GET", "/"))).status == 401
        assert (await handler(Request("GET", "/api/stories"))).status == 401
        assert (await handler(Request("GET", "/metrics"))).status == 401
        assert (await handler(Request("GET", "/healthz"))).status == 200  # probes stay open
        wrong = {"authorization": "Bearer nope"}
        assert (await handler(Request("GET", "/", headers=wrong))).status == 401
        right = {"authorization": f"Bearer {TOKEN}"}
        assert (await handler(Request("GET", "/api/stories", headers=right))).status == 200
        login = await handler(Request("GET", "/stories", {"token": [TOKEN], "page": ["1"]}))
        assert login.status == 303 and login.headers["Location"] == "/stories?page=1"
        cookie = login.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
        jar = {"cookie": cookie.split(";", 1)[0]}
        assert (await handler(Request("GET", "/stories", headers=jar))).status == 200
        bad = await handler(Request("GET", "/", {"token": ["guess"]}))
        assert bad.status == 401 and "Set-Cookie" not in bad.headers
        # The path comes decoded: the redirect quotes it again and never names a host.
        odd = await handler(Request("GET", "//evil.example/\r\nX: y/é", {"token": [TOKEN]}))
        assert odd.status == 303
        where = odd.headers["Location"]
        assert where.startswith("/") and not where.startswith("//") and where.isascii()
        assert "\r" not in where and "\n" not in where
    finally:
        store.close()


def test_a_short_token_is_refused_at_the_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"http\.token.*at least 16"):
        _config_with_token(tmp_path, "short-token")


async def test_an_absurd_since_is_a_bad_request_not_a_crash(app: Any) -> None:
    for since in ("99999999d", "99999999999w", "soon"):
        response = await app(f"/api/search?q=Amazon&since={since}")
        assert response.status == 400, (since, response.status)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("", False), ("::", False), ("192.168.1.20", False),
     ("monitor.example.org", False)],
)  # fmt: skip
def test_loopback_needs_no_token_anything_else_does(host: str, loopback: bool) -> None:
    from monitor.errors import ConfigError

    assert is_loopback(host) is loopback
    check_bind(host, "a-token")
    if loopback:
        check_bind(host, None)
    else:
        with pytest.raises(ConfigError, match=r"http\.token"):
            check_bind(host, None)


@pytest.mark.parametrize("command", [["web"], ["run"]])
def test_non_loopback_without_token_refuses_to_start(
    tmp_path: Path, command: list[str], run_cli: Callable[..., Result]
) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("sources: []\n")
    db = tmp_path / "m.db"
    out = run_cli(
        "--config",
        str(config),
        *command,
        "--http",
        f"0.0.0.0:{free_port()}",
        env={"MONITOR_DATABASE_URL": f"sqlite:///{db}"},
    )
    assert out.code == 2, out.err
    assert "http.token" in out.err
    # From the config too, not just the flag.
    config.write_text(f"http: {{listen: '0.0.0.0:{free_port()}'}}\nsources: []\n")
    out = run_cli(
        "--config", str(config), *command, env={"MONITOR_DATABASE_URL": f"sqlite:///{db}"}
    )
    assert out.code == 2 and "http.token" in out.err


def _fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_monitor_web_serves_over_http_with_its_token(
    tmp_path: Path, db_url: str, polled: Path
) -> None:
    port = free_port()
    proc = start_web(polled, db_url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        status, _, _ = _fetch(f"{base}/api/stories")
        assert status == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        status, headers, body = _fetch(f"{base}/api/search?q=Amazon%20IA%20licenciements", **auth)
        assert status == 200 and OPEN_LETTER in [r["title"] for r in json.loads(body)["items"]]
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        status, headers, body = _fetch(f"{base}/stories", "HEAD", **auth)
        assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
        status, headers, _ = _fetch(f"{base}/stories", "POST", **auth)
        assert status == 405 and headers["Allow"] == "GET, HEAD"
        status, _, _ = _fetch(f"{base}/metrics", **auth)
        assert status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert TOKEN not in err


async def test_server_refuses_garbage_and_survives_it() -> None:
    async def handler(request: Request) -> Response:
        return Response(200, f"{request.path} {request.arg('q')}".encode())

    port = free_port()
    server = await serve("127.0.0.1", port, handler)
    try:
        garbage = await _exchange(port, b"NONSENSE\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400 ")
        answer = await _exchange(port, b"GET /a%20b?q=x%26y HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"/a b x&y")
    finally:
        server.close()
        await server.wait_closed()


async def _exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
