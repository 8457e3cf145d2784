"""monitor.alerts rendering, the console channel and notifier settings (no network)."""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.alerts import (
    AlertMessage,
    ArticleInfo,
    EmailNotifier,
    LogNotifier,
    Notifier,
    PostResponse,
    StoryInfo,
    Templates,
    WebhookNotifier,
)
from monitor.alerts._render import render_subject, safe_snippet_html
from monitor.errors import ConfigError, DeliveryError
from monitor.store import alert_id


def make_message(
    title: str = "Des salariés d'Amazon dénoncent les licenciements liés à l'IA",
    url: str = "https://www.example.fr/tech/amazon-lettre-ouverte",
    source: str = "lemonde-pixels",
    story: StoryInfo | None = None,
    published: datetime | None = datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
    snippet_html: str = "… salariés d'<mark>Amazon</mark> et <mark>licenciements</mark> …",
) -> AlertMessage:
    return AlertMessage(
        id=alert_id("amazon-ia-licenciements", zlib.crc32(url.encode()), "console"),
        alert="amazon-ia-licenciements",
        query="Amazon IA licenciements",
        matched=("amazon", "ia", "licenciements"),
        article=ArticleInfo(
            url=url,
            title=title,
            source=source,
            published=published,
            language="fr",
            snippet="… salariés d'Amazon et licenciements …",
            snippet_html=snippet_html,
        ),
        story=story,
    )


# --- rendering -------------------------------------------------------------------------------


def render_html(message: AlertMessage) -> str:
    return Templates().alert(message).html


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("a <mark>b</mark> c", 'a <mark style="background:#ffe866;padding:0 2px">b</mark> c'),
        ("<b>x</b> &amp; <i>y</i>", "x &amp; y"),
        ("<script>alert(1)</script>safe", "safe"),
        (
            '<mark onclick="evil()">z</mark>',
            '<mark style="background:#ffe866;padding:0 2px">z</mark>',
        ),
        ("<mark>open", '<mark style="background:#ffe866;padding:0 2px">open</mark>'),
        ("1 &lt; 2 </mark>", "1 &lt; 2 "),
    ],
)
def test_snippet_html_keeps_only_marks(snippet: str, expected: str) -> None:
    assert safe_snippet_html(snippet) == expected


def test_html_escapes_article_fields_and_links_only_web_urls() -> None:
    hostile = make_message(
        title="<img src=x onerror=alert(1)>Amazon",
        url="javascript:alert(1)",
        snippet_html="<script>steal()</script><mark>Amazon</mark>",
    )
    page = render_html(hostile)
    assert "<img" not in page and "&lt;img src=x" in page
    assert "<script" not in page and "steal()" not in page
    assert 'href="javascript' not in page
    assert ">Amazon</mark>" in page
    assert 'href="https://www.example.fr/tech/amazon-lettre-ouverte"' in render_html(make_message())


@pytest.mark.parametrize(
    ("title", "subject"),
    [
        (
            "Amazon\r\nBcc: victim@example.org",
            "[amazon-ia-licenciements] Amazon Bcc: victim@example.org",
        ),
        ("", "[amazon-ia-licenciements] https://www.example.fr/tech/amazon-lettre-ouverte"),
        ("x" * 500, None),
    ],
)
def test_subject_is_one_bounded_line(title: str, subject: str | None) -> None:
    rendered = render_subject("[{alert}] {title}", make_message(title=title))
    assert "\n" not in rendered and "\r" not in rendered
    assert len(rendered) <= 200
    if subject is not None:
        assert rendered == subject


# --- console ---------------------------------------------------------------------------------


async def test_log_notifier_prints_a_readable_block(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    message = make_message(story=StoryInfo(id=1, outlets=("lemonde-pixels", "franceinfo")))
    with caplog.at_level("INFO", logger="monitor.alerts"):
        await LogNotifier(stream).send(message)
    out = stream.getvalue()
    # The article is French and the channel sets no locale: the alert speaks French.
    for expected in (
        "Alerte « amazon-ia-licenciements » : amazon, ia, licenciements",
        message.article.title,
        message.article.url,
        "lemonde-pixels · 14 mars 2025, 09:30 UTC · fr",
        "… salariés d'Amazon et licenciements …",
        "Également publié par :\n- franceinfo",
    ):
        assert expected in out
    [record] = caplog.records
    fields = record.__dict__["fields"]  # what the formatters print
    assert fields["alert"] == "amazon-ia-licenciements"
    assert fields["url"] == message.article.url and fields["alert_id"] == message.id


async def test_log_notifier_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    await LogNotifier().send(make_message())
    assert "amazon-lettre-ouverte" in capsys.readouterr().out


async def test_log_digest_lists_every_story_once() -> None:
    story = StoryInfo(id=9, outlets=("lemonde-pixels",))
    messages = [
        make_message(story=story),
        make_message(url="https://franceinfo.example/a", source="franceinfo", story=story),
        make_message(title="Autre histoire", url="https://c.example/2"),
    ]
    stream = io.StringIO()
    notifier = LogNotifier(stream)
    await notifier.send_digest("quotidien", messages)
    await notifier.send_digest("quotidien", [])
    out = stream.getvalue()
    assert out.count("[quotidien] 2 nouveaux sujets") == 1
    assert "1. Des salariés d'Amazon" in out and "2. Autre histoire" in out
    # The copy is not listed again: its outlet is named, with the link to its copy.
    assert "Également publié par : franceinfo <https://franceinfo.example/a>" in out
    assert out.count("https://franceinfo.example/a") == 1


async def test_log_notifier_on_a_closed_stream_is_a_delivery_error() -> None:
    stream = io.StringIO()
    stream.close()
    with pytest.raises(DeliveryError):
        await LogNotifier(stream).send(make_message())


def test_every_notifier_satisfies_the_protocol() -> None:
    async def never(
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        *,
        allow_private: bool,
        timeout: float,  # noqa: ASYNC109 (the PostFunc signature)
    ) -> PostResponse:
        raise AssertionError("not called")

    notifiers = [
        LogNotifier(),
        EmailNotifier(host="localhost", port=25, sender="a@b.c", to=["d@e.f"], tls="none"),
        WebhookNotifier(url="https://hooks.example.org/x", secrets=["s"], post=never),
    ]
    assert all(isinstance(n, Notifier) for n in notifiers)


def test_html_falls_back_to_the_plain_snippet() -> None:
    page = render_html(make_message(snippet_html=""))
    assert "<blockquote>… salariés d'Amazon et licenciements …</blockquote>" in page


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"tls": "none", "username": "monitor", "password": "pw-123"}, "without TLS"),
        ({"tls": "none", "username": "monitor"}, "without TLS"),
        ({"tls": "starttls", "password": "pw-123"}, "without a username"),
        ({"tls": "tls"}, "starttls, ssl or none"),
        ({"to": []}, "recipient"),
        ({"subject_template": "{alert} {body}"}, "unknown fields"),
        ({"subject_template": "{alert"}, "malformed"),
    ],
)
def test_invalid_email_settings_fail_at_construction(options: dict[str, Any], problem: str) -> None:
    settings: dict[str, Any] = {
        "host": "smtp.example.org",
        "port": 587,
        "sender": "monitor@example.org",
        "to": ["veille@example.org"],
        "tls": "starttls",
    }
    settings.update(options)
    with pytest.raises(ConfigError, match=problem) as caught:
        EmailNotifier(**settings)
    assert "pw-123" not in str(caught.value)
