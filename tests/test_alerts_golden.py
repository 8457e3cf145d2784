"""Rendered messages against golden files: emails in French and English (text and HTML,
received by a local SMTP server), a digest, and the webhook body; then the templates a
channel can bring, and what autoescaping and subject handling guarantee.

Regenerate the golden files after a deliberate change with
``MONITOR_UPDATE_GOLDEN=1 uv run pytest tests/test_alerts_golden.py`` and read the diff.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiosmtpd.controller import Controller

from monitor.alerts import (
    AlertMessage,
    ArticleInfo,
    EmailNotifier,
    StoryInfo,
    Templates,
    webhook_payload,
)
from monitor.errors import ConfigError
from tests.sitekit import free_port

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "webhook.schema.json").read_text())
UPDATE = bool(os.environ.get("MONITOR_UPDATE_GOLDEN"))

FRENCH = AlertMessage(
    id="msg_p3ujw2mqo6pmbdzt4oc5r6cbqa",
    alert="amazon-ia-licenciements",
    query="Amazon IA licenciements",
    matched=("Amazon", "IA", "licenciements"),
    words={"Amazon": ("Amazon",), "IA": ("IA",), "licenciements": ("licenciements", "licenciés")},
    article=ArticleInfo(
        url="https://www.example.fr/tech/amazon-lettre-ouverte",
        title="Des salariés d'Amazon dénoncent les licenciements liés à l'IA",
        source="lemonde-pixels",
        published=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
        language="fr",
        snippet="… des salariés d'Amazon craignent des licenciements liés à l'IA. …",
        snippet_html=(
            "… des salariés d'<mark>Amazon</mark> craignent des <mark>licenciements</mark> "
            "liés à l'<mark>IA</mark>. …"
        ),
    ),
    story=StoryInfo(
        42,
        ("lemonde-pixels", "franceinfo"),
        {
            "lemonde-pixels": "https://www.example.fr/tech/amazon-lettre-ouverte",
            "franceinfo": "https://www.franceinfo.example/amazon-lettre",
        },
    ),
    created=datetime(2025, 3, 14, 9, 31, tzinfo=UTC),
)
ENGLISH = replace(
    FRENCH,
    id="msg_b4cxkq7lq3n2m5ohbx6uqzqk2a",
    words={"Amazon": ("Amazon",), "IA": ("AI",), "licenciements": ("layoffs", "laid off")},
    article=ArticleInfo(
        url="https://news.example.com/amazon-open-letter",
        title="Amazon employees say AI is behind the layoffs",
        source="example-news",
        published=datetime(2025, 7, 1, 22, 15, tzinfo=UTC),
        language="en",
        snippet="… Amazon staff say AI is used to justify the layoffs. …",
        snippet_html="… <mark>Amazon</mark> staff say <mark>AI</mark> is used to justify the "
        "<mark>layoffs</mark>. …",
    ),
    story=StoryInfo(43, ("example-news",)),
)


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with MONITOR_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@dataclass
class Inbox:
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port, server_hostname="localhost")
    controller.start()
    yield box
    controller.stop()


def mailer(inbox: Inbox, templates: Templates, subject: str | None = None) -> EmailNotifier:
    return EmailNotifier(
        host="127.0.0.1", port=inbox.port, sender="monitor@example.org",
        to=["veille@example.org"], tls="none", templates=templates, subject_template=subject,
    )  # fmt: skip


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    # Line ends as the reader's mail client gives them, not as SMTP carried them.
    return (
        text.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )


@pytest.mark.parametrize("name", ["fr", "en"])
async def test_alert_emails_match_their_golden_files(inbox: Inbox, name: str) -> None:
    message = FRENCH if name == "fr" else ENGLISH
    # No locale on the channel: each alert speaks its article's language; Paris time.
    await mailer(inbox, Templates(None, "Europe/Paris")).send(message)
    (received,) = inbox.messages
    text, html = parts(received)
    golden(f"alert-{name}.subject.txt", received["Subject"] + "\n")
    golden(f"alert-{name}.txt", text)
    golden(f"alert-{name}.html", html)


def test_the_golden_files_say_what_a_reader_needs() -> None:
    # What the golden files were checked for when they were written, kept as asserts
    # so that regenerating them cannot quietly lose it.
    fr = (GOLDEN / "alert-fr.txt").read_text()
    assert "14 mars 2025, 10:30 CET" in fr  # 09:30 UTC in Paris, in French
    assert (
        "Également publié par :\n- franceinfo: https://www.franceinfo.example/amazon-lettre" in fr
    )
    assert "licenciements → licenciés" in fr
    en = (GOLDEN / "alert-en.txt").read_text()
    assert "2 July 2025, 00:15 CEST" in en  # 22:15 UTC is past midnight in Paris
    assert "IA → AI" in en and "licenciements → layoffs / laid off" in en
    html = (GOLDEN / "alert-fr.html").read_text()
    assert '<a href="https://www.franceinfo.example/amazon-lettre">franceinfo</a>' in html
    assert ">licenciements</mark>" in html


async def test_a_digest_email_matches_its_golden_files(inbox: Inbox) -> None:
    copy = replace(
        FRENCH,
        id="msg_copy",
        article=replace(
            FRENCH.article, url="https://www.franceinfo.example/amazon-lettre", source="franceinfo"
        ),
    )
    other = replace(
        ENGLISH, alert="amazon-ai-layoffs", article=replace(ENGLISH.article, language="fr")
    )
    await mailer(inbox, Templates("fr", "Europe/Paris")).send_digest(
        "veille", [FRENCH, copy, other]
    )
    (received,) = inbox.messages
    text, html = parts(received)
    golden("digest-fr.subject.txt", received["Subject"] + "\n")
    golden("digest-fr.txt", text)
    golden("digest-fr.html", html)


def test_the_webhook_body_matches_its_golden_file() -> None:
    body = webhook_payload(FRENCH)
    jsonschema.validate(body, SCHEMA)
    golden("webhook-alert.json", json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    # Additive only: every field of the earlier body is still there, unchanged in kind.
    assert {"type", "id", "alert", "query", "matched", "created", "article", "story"} <= set(body)
    assert body["matched"] == ["Amazon", "IA", "licenciements"]


# --- what a channel may change, and what it cannot break ----------------------------------


HOSTILE = replace(
    FRENCH,
    article=replace(
        FRENCH.article,
        title='<script>alert("x")</script> Amazon',
        url="javascript:alert(1)",
        snippet_html="<img src=x onerror=steal()> <mark>Amazon</mark>",
    ),
)


def test_html_is_autoescaped_and_only_web_links_are_clickable() -> None:
    page = Templates("en").alert(HOSTILE).html
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img" not in page and ">Amazon</mark>" in page
    assert 'href="javascript' not in page
    text = Templates("en").alert(HOSTILE).text
    assert '<script>alert("x")</script> Amazon' in text  # plain text is not HTML-escaped


def test_a_template_file_replaces_the_blocks_it_defines(tmp_path: Path) -> None:
    path = tmp_path / "mail.j2"
    path.write_text(
        "{% block subject %}  NEWS: {{ article.title }}\n{% endblock %}"
        "{% block html %}<p>{{ article.title }} — {{ matched_line }}</p>{% endblock %}",
        encoding="utf-8",
    )
    parts = Templates("en", "UTC", str(path)).alert(HOSTILE)
    # Its subject, on one line and without the leading spaces the template wrote.
    assert parts.subject == 'NEWS: <script>alert("x")</script> Amazon'
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Amazon"
    assert parts.html == f"<p>{escaped} — Amazon, IA, licenciements → licenciés</p>\n"
    assert parts.text == Templates("en").alert(HOSTILE).text  # the bundled text block stays


def test_a_template_directory_replaces_the_parts_it_holds(tmp_path: Path) -> None:
    (tmp_path / "text.j2").write_text("{{ t.also_reported_by }} {{ others[0].url }}\n")
    parts = Templates(None, "UTC", str(tmp_path)).alert(FRENCH)
    assert parts.text == "Également publié par : https://www.franceinfo.example/amazon-lettre\n"
    assert parts.subject == f"[amazon-ia-licenciements] {FRENCH.article.title}"


def test_an_edited_template_file_is_picked_up_when_the_channel_is_built_again(
    tmp_path: Path,
) -> None:
    # Compiled templates are kept for the process: the edit must not be served stale.
    path = tmp_path / "mail.j2"
    path.write_text("{% block subject %}FIRST {{ alert }}{% endblock %}", encoding="utf-8")
    assert Templates("en", "UTC", str(path)).alert(HOSTILE).subject.startswith("FIRST ")
    path.write_text("{% block subject %}SECOND {{ alert }}{% endblock %}", encoding="utf-8")
    assert Templates("en", "UTC", str(path)).alert(HOSTILE).subject.startswith("SECOND ")
    path.write_text("{% block subject %}{{ alert }{% endblock %}", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1"):  # a broken edit still fails at load
        Templates("en", "UTC", str(path))
    (tmp_path / "dir").mkdir()
    part = tmp_path / "dir" / "subject.j2"
    part.write_text("ONE", encoding="utf-8")
    assert Templates("en", "UTC", str(tmp_path / "dir")).alert(HOSTILE).subject == "ONE"
    part.write_text("TWO", encoding="utf-8")
    assert Templates("en", "UTC", str(tmp_path / "dir")).alert(HOSTILE).subject == "TWO"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{% block text %}{{ article.title }{% endblock %}", "line 1"),
        ("{% block text %}{{ article.nope }}{% endblock %}", "nope"),
        ("no blocks at all", "none of the blocks"),
    ],
    ids=["syntax", "unknown-field", "no-block"],
)
def test_a_broken_template_is_a_config_error_at_load(
    tmp_path: Path, source: str, problem: str
) -> None:
    path = tmp_path / "bad.j2"
    path.write_text(source)
    with pytest.raises(ConfigError, match=problem):
        Templates("en", "UTC", str(path))


def test_a_missing_template_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.j2"):
        Templates("en", "UTC", str(tmp_path / "nowhere.j2"))


@pytest.mark.parametrize(
    "title",
    [
        "\n  Des salariés d'Amazon dénoncent",
        # Plain ASCII just over 78 columns: the generator folds it right after "Subject:".
        "Amazon employees say AI is behind the layoffs",
        "x" * 150 + " dénoncent les licenciements liés à l'IA générative",
        "Des salariés d'Amazon dénoncent les licenciements liés à l'intelligence artificielle "
        "générative dans les entrepôts européens",
    ],
    ids=["leading-newline", "ascii-folded", "long-word", "long-accented"],
)
async def test_the_received_subject_never_starts_with_whitespace(inbox: Inbox, title: str) -> None:
    message = replace(FRENCH, article=replace(FRENCH.article, title=title))
    notifier = mailer(inbox, Templates("fr"), subject="[{alert}] {title}")
    await notifier.send(message)
    (received,) = inbox.messages
    subject = received["Subject"]
    assert subject == subject.strip() and "  " not in subject and "\n" not in subject
    assert subject == Templates("fr").alert(message).subject  # the format line says the same
