"""A polled local site for the web view's tests: the fixture site of sitekit, one
article with a hostile title, a config holding secrets that no page may show."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from tests.faultserver import FaultServer, Reply
from tests.sitekit import HOOK_SECRET, MailSink, render, serve_site

HOSTILE = "<script>window.pwned = 1; alert('pwned')</script> Amazon: l'IA et les licenciements"
TOKEN = "web-token-0123456789"
APPRISE_SECRET = "apprisetoken9876543210"
SECRETS = (HOOK_SECRET, TOKEN, APPRISE_SECRET)
OPEN_LETTER = "Des salariés d'Amazon dénoncent les licenciements liés à l'IA"


def _hostile_page(origin: str, published: datetime) -> bytes:
    # The title comes through escaped in the HTML, as a site would send it: the
    # extractor decodes it, and the store keeps the raw "<script>" text.
    title = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    para = (
        "<p>Chez Amazon, les licenciements se poursuivent et la direction invoque l'IA "
        "pour justifier la suppression de postes dans plusieurs entrepôts du pays.</p>"
    )
    return (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:title" content="{title.replace(chr(39), "&#39;")}">'
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        f'<link rel="canonical" href="{origin}/articles/hostile"></head><body><main><article>'
        f"<h1>{title}</h1>{para * 4}</article></main></body></html>"
    ).encode()


def serve_hostile(server: FaultServer) -> None:
    when = datetime.now(UTC) - timedelta(minutes=30)
    server.route(
        "/articles/hostile",
        Reply(_hostile_page(server.origin, when), headers={"Content-Type": "text/html"}),
    )
    title = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Hostile</title><link>{server.origin}/</link><description>x</description>"
        f"<item><title>{title}</title><link>{server.origin}/articles/hostile</link>"
        f'<guid isPermaLink="false">h-1</guid><pubDate>{format_datetime(when)}</pubDate>'
        "</item></channel></rss>"
    ).encode()
    server.route("/hostile.xml", Reply(feed, headers={"Content-Type": "application/rss+xml"}))


def serve_partner(server: FaultServer) -> None:
    """A second outlet carrying the open letter word for word, under its own URL: the
    store puts both in one story."""
    when = datetime.now(UTC) - timedelta(minutes=50)
    url = f"{server.origin}/partner/lettre"
    page = render("fr-lettre-amazon.html", server.origin, when).replace(
        f"{server.origin}/articles/lettre-ouverte-amazon".encode(), url.encode()
    )
    server.route("/partner/lettre", Reply(page, headers={"Content-Type": "text/html"}))
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Partner</title><link>{server.origin}/</link><description>x</description>"
        f"<item><title>{OPEN_LETTER}</title><link>{url}</link>"
        f'<guid isPermaLink="false">p-1</guid><pubDate>{format_datetime(when)}</pubDate>'
        "</item></channel></rss>"
    ).encode()
    server.route("/partner.xml", Reply(feed, headers={"Content-Type": "application/rss+xml"}))


def serve_all(server: FaultServer) -> None:
    serve_site(server)
    serve_hostile(server)
    serve_partner(server)
    server.route("/hook", Reply(b"", status=204))


def write_config(tmp_path: Path, site: FaultServer, mail: MailSink, http: str = "") -> Path:
    """The two fixture feeds and the hostile one, an email and a signed webhook; an
    Apprise channel no alert uses, there for its secret URL."""
    config = tmp_path / "sources.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        allow_private_networks: true
        fetch: {{min_delay: 0s, timeout: 3s}}
        {http}
        sources:
          - name: qdn-tech
            url: {site.url("/fr/rss.xml")}
            language: fr
          - name: ledger-business
            url: {site.url("/en/atom.xml")}
            language: en
          - name: partner-wire
            url: {site.url("/partner.xml")}
            language: fr
          - name: hostile-news
            url: {site.url("/hostile.xml")}
            language: fr
        alerts:
          - name: amazon-ia-licenciements
            query: Amazon IA licenciements
            notify: [team-mail, ops-hook]
        channels:
          team-mail:
            type: email
            to: [veille@example.org]
            from: monitor@example.org
            smtp: {{host: 127.0.0.1, port: {mail.port}, tls: none}}
          ops-hook:
            type: webhook
            url: {site.url("/hook")}
            secret: {HOOK_SECRET}
          spare:
            type: apprise
            urls: ["json://127.0.0.1:9/{APPRISE_SECRET}"]
        """)
    )
    return config


def start_web(config: Path, db_url: str, port: int) -> subprocess.Popen[str]:
    """``monitor web`` in a process of its own, with the token in its environment, once
    its /healthz answers (the caller stops it with SIGTERM)."""
    env = {**os.environ, "MONITOR_DATABASE_URL": db_url, "WEB_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "web", "--http",
         f"127.0.0.1:{port}"],
        cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return proc
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"{url} never answered")
