"""``render: browser``: a page whose article exists only after its script ran, loaded in
Debian's Chromium, every request of the browser going through the fetch guard.

The pages are real files (tests/fixtures/render) on a real local server; the browser
is the real one. Skipped only on a machine without Chromium; CI sets
MONITOR_REQUIRE_BROWSER=1 so the check fails there instead of silently not running.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from monitor.errors import RenderError, RenderUnavailable
from monitor.extract import extract_article
from monitor.fetch import Fetcher, FetchSettings
from monitor.render import Renderer, RenderSettings
from tests.clikit import Result
from tests.faultserver import FaultServer, Reply
from tests.sitekit import HOOK_SECRET
from tests.test_fetch_guard import PUBLIC, PublicToLocal, StaticResolver

CHROMIUM = "/usr/bin/chromium"
FIXTURES = Path(__file__).parent / "fixtures" / "render"
FIRST_WORDS = "For the first time since 1987, the lighthouse at Saltness Point"
HEADLINE = "Lighthouse keepers return to Saltness Point"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("MONITOR_REQUIRE_BROWSER"),
    reason="chromium is not installed (apt-get install chromium)",
)


def serve_story(site: FaultServer, path: str, probes: list[str], socket: str) -> str:
    """The script-built story at ``path`` on ``site``; its script also reaches for
    ``probes`` and opens a WebSocket to ``socket``."""
    page = (FIXTURES / "story.html").read_text(encoding="utf-8")
    page = page.replace("{{PROBES}}", json.dumps(probes)).replace("{{SOCKET}}", socket)
    html = {"Content-Type": "text/html; charset=utf-8"}
    site.route(path, Reply(page, headers=html))
    js = {"Content-Type": "text/javascript"}
    site.route("/static/app.js", Reply((FIXTURES / "app.js").read_bytes(), headers=js))
    data = {"Content-Type": "application/json"}
    site.route("/api/story.json", Reply((FIXTURES / "story.json").read_bytes(), headers=data))
    site.route("/robots.txt", Reply("User-agent: *\nDisallow: /private/\n"))
    site.route("/private/tracking.json", Reply("{}", headers=data))
    site.route("/static/logo.png", Reply(b"\x89PNG", headers={"Content-Type": "image/png"}))
    return site.url(path)


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def intranet() -> Iterator[FaultServer]:
    """A server on another loopback address: what a hostile script would reach for."""
    with FaultServer(host="127.0.0.2") as server:
        server.route("/secret", Reply("the intranet's secret"))
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    # news.test is a public address carried to 127.0.0.1: the guard lets the site
    # through with private networks disallowed, and refuses anything really private.
    resolver = StaticResolver({"news.test": [[PUBLIC]], "intra.test": [["10.1.2.3"]]})
    settings = FetchSettings(min_delay=0.0, connect_timeout=2.0)
    async with Fetcher(settings, resolver=resolver, network_backend=PublicToLocal()) as client:
        yield client


@needs_chromium
async def test_a_script_built_page_is_read_and_its_hostile_requests_refused(
    site: FaultServer, intranet: FaultServer, fetcher: Fetcher
) -> None:
    port = site.url("/").split(":")[2].split("/")[0]
    probes = [intranet.url("/secret"), "http://intra.test/secret", "file:///etc/passwd"]
    socket = intranet.url("/ws").replace("http:", "ws:")
    url = serve_story(site, "/news/lighthouse", probes, socket).replace("127.0.0.1", "news.test")
    assert f"news.test:{port}" in url
    renderer = Renderer(RenderSettings(chromium=CHROMIUM, timeout=20.0))
    try:
        get = partial(fetcher.get, allow_private=False, obey_robots=True)
        rendered = await renderer.render(url, get)
    finally:
        await renderer.aclose()

    article = extract_article(rendered.html, rendered.document.final_url)
    assert article.title == HEADLINE
    assert article.text.startswith(FIRST_WORDS) and article.quality == "ok"
    assert article.text.count("\n\n") == 3  # four paragraphs, nothing of the spinner
    # Served as HTML, the same page has no article at all.
    assert extract_article((FIXTURES / "story.html").read_bytes()).quality == "empty"

    # The private address, the private name and the WebSocket never reached anything.
    assert intranet.requests == []
    reasons = dict(rendered.refused)
    assert reasons[intranet.url("/secret")].startswith("blocked_address")
    assert reasons["http://intra.test/secret"].startswith("blocked_address")
    # robots.txt governs the page's own requests too; images are not needed for text.
    assert site.requests_to("/private/tracking.json") == []
    assert any(
        u.endswith("/private/tracking.json") and r.startswith("robots") for u, r in reasons.items()
    )
    assert site.requests_to("/static/logo.png") == [] and site.requests_to("/beacon") == []
    assert {r.path for r in site.requests} <= {
        "/robots.txt",
        "/news/lighthouse",
        "/static/app.js",
        "/api/story.json",
    }


async def test_without_chromium_the_error_says_how_to_install(fetcher: Fetcher) -> None:
    renderer = Renderer(RenderSettings(chromium="/nonexistent/chromium"))
    with pytest.raises(RenderUnavailable) as caught:
        await renderer.render("http://news.test/a", partial(fetcher.get))
    message = str(caught.value)
    assert "/nonexistent/chromium" in message and "apt-get install chromium" in message
    assert "--extra browser" in message
    await renderer.aclose()


def _config(tmp_path: Path, site: FaultServer, chromium: str) -> Path:
    config = tmp_path / "sources.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        allow_private_networks: true    # the test site lives on 127.0.0.1
        fetch: {{min_delay: 0s, timeout: 5s}}
        browser: {{chromium: {chromium}, concurrency: 1, timeout: 20s}}
        sources:
          - name: gazette-rendered
            url: {site.url("/rendered.xml")}
            render: browser
            timezone: Europe/London
          - name: gazette-plain
            url: {site.url("/plain.xml")}
        alerts:
          - name: lighthouse
            query: lighthouse keepers Saltness
            notify: [hook]
        channels:
          hook: {{type: webhook, url: {site.url("/hook")}, secret: {HOOK_SECRET}}}
        """)
    )
    return config


def _feed(site: FaultServer, name: str, link: str) -> None:
    # The feed carries only a title: whatever matches must come from the page.
    rss = (
        f"<rss version='2.0'><channel><title>{name}</title><item><title>Keepers</title>"
        f"<link>{link}</link></item></channel></rss>"
    )
    site.route(f"/{name}.xml", Reply(rss, headers={"Content-Type": "application/rss+xml"}))


@needs_chromium
def test_run_once_alerts_on_the_rendered_page_only(
    tmp_path: Path, site: FaultServer, run_cli: Callable[..., Result]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"  # the store is not what is tested
    site.route("/hook", Reply(b"", status=204))
    _feed(site, "rendered", serve_story(site, "/news/a", [], "ws://127.0.0.1:9/"))
    _feed(site, "plain", serve_story(site, "/news/b", [], "ws://127.0.0.1:9/"))
    config = _config(tmp_path, site, CHROMIUM)
    out = run_cli("--config", str(config), "run", "--once", env={"MONITOR_DATABASE_URL": db_url})
    assert out.code == 0, out.err
    # The browser was stopped with the run: no warning of a process or loop left behind.
    assert "Traceback" not in out.err and "Event loop is closed" not in out.err
    hooks = site.requests_to("/hook")
    assert len(hooks) == 1  # the plain source read an empty page: nothing to match
    payload = json.loads(hooks[0].body)
    assert payload["article"]["source"] == "gazette-rendered"
    assert payload["article"]["title"] == HEADLINE
    assert "Saltness" in payload["article"]["snippet"]


def test_run_once_without_chromium_reads_pages_as_served_and_says_why(
    tmp_path: Path, site: FaultServer, run_cli: Callable[..., Result]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"  # the store is not what is tested
    site.route("/hook", Reply(b"", status=204))
    _feed(site, "rendered", serve_story(site, "/news/a", [], "ws://127.0.0.1:9/"))
    _feed(site, "plain", serve_story(site, "/news/b", [], "ws://127.0.0.1:9/"))
    config = _config(tmp_path, site, "/nonexistent/chromium")
    out = run_cli("--config", str(config), "run", "--once", env={"MONITOR_DATABASE_URL": db_url})
    assert out.code == 0, out.err  # polled; nothing matched, nothing crashed
    assert "browser unavailable" in out.err and "apt-get install chromium" in out.err
    assert site.requests_to("/hook") == []
    assert len(site.requests_to("/news/a")) == 1  # the page was still read, as served


@needs_chromium
async def test_a_page_that_spins_or_eats_memory_fails_alone_within_its_caps(
    site: FaultServer, fetcher: Fetcher
) -> None:
    html = {"Content-Type": "text/html"}
    site.route(
        "/spin", Reply("<html><body><script>while (true) {}</script></body></html>", headers=html)
    )
    hog = "<script>const a = []; for (;;) a.push(new Array(1e6).fill(1));</script>"
    site.route("/hog", Reply(f"<html><body>{hog}</body></html>", headers=html))
    story = serve_story(site, "/news/fine", [], "ws://127.0.0.1:9/")
    renderer = Renderer(RenderSettings(chromium=CHROMIUM, timeout=2.0, max_memory=64 * 2**20))
    get = partial(fetcher.get, allow_private=True, obey_robots=True)
    try:
        # Launched on the first page; a spinning page then costs its timeout, a page
        # that eats memory crashes its renderer at the heap cap, and neither harms the next.
        assert FIRST_WORDS in extract_article((await renderer.render(story, get)).html).text
        for path in ("/spin", "/hog"):
            started = time.monotonic()
            with pytest.raises(RenderError):
                await renderer.render(site.url(path), get)
            assert time.monotonic() - started < 2.0 + 4.0  # its timeout, then the close
        assert FIRST_WORDS in extract_article((await renderer.render(story, get)).html).text
    finally:
        await renderer.aclose()


def test_check_warns_when_this_machine_cannot_render(
    tmp_path: Path, site: FaultServer, run_cli: Callable[..., Result]
) -> None:
    config = _config(tmp_path, site, "/nonexistent/chromium")
    out = run_cli("--config", str(config), "check")
    assert out.code == 0, out.err
    text = out.out + out.err
    assert "gazette-rendered have render: browser" in text
    assert "Chromium at /nonexistent/chromium" in text and "apt-get install chromium" in text
