"""monitor.alerts offline: ids, backoff, signatures and the webhook payload's schema."""

from __future__ import annotations

import base64
import json
import random
import re
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from monitor.alerts import (
    AlertMessage,
    ArticleInfo,
    StoryInfo,
    digest_id,
    digest_payload,
    retry_delay,
    sign_webhook,
    verify_webhook,
    webhook_payload,
)
from monitor.errors import ConfigError
from monitor.store import alert_id

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "docs" / "webhook.schema.json").read_text()
)


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


# --- ids -------------------------------------------------------------------------------------


def test_alert_id_is_stable_and_header_safe() -> None:
    first = alert_id("amazon-ia", 42, "team-mail")
    assert first == alert_id("amazon-ia", 42, "team-mail")
    assert re.fullmatch(r"msg_[a-z2-7]{24}", first)


@pytest.mark.parametrize(
    "other",
    [
        ("amazon-ia2", 42, "team-mail"),
        ("amazon-ia", 43, "team-mail"),
        ("amazon-ia", 42, "ops-hook"),
        ("amazon-ia4", 2, "team-mail"),
        ("amazon-ia", 4, "2team-mail"),
    ],
)
def test_alert_id_differs_when_any_part_differs(other: tuple[str, int, str]) -> None:
    assert alert_id(*other) != alert_id("amazon-ia", 42, "team-mail")


def test_digest_id_depends_on_its_alerts_not_their_order() -> None:
    a, b = make_message(url="https://a.example/1"), make_message(url="https://b.example/2")
    assert digest_id("daily", [a, b]) == digest_id("daily", [b, a])
    assert digest_id("daily", [a, b]) != digest_id("daily", [a])
    assert digest_id("daily", [a]) != digest_id("hourly", [a])


# --- backoff ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "base"),
    [
        (0, 5),
        (1, 5),
        (2, 300),
        (3, 1800),
        (4, 7200),
        (5, 18000),
        (6, 36000),
        (7, 36000),
        (50, 36000),
    ],
)
def test_retry_delay_steps_with_jitter(attempts: int, base: float) -> None:
    rng = random.Random(attempts)
    delays = [retry_delay(attempts, rng) for _ in range(200)]
    assert all(0.8 * base <= d <= 1.2 * base for d in delays)
    # Jitter really spreads the retries, and both ways.
    assert min(delays) < 0.9 * base < 1.1 * base < max(delays)


def test_retry_delay_is_reproducible_with_a_seed() -> None:
    assert retry_delay(3, random.Random(9)) == retry_delay(3, random.Random(9))


# --- signatures ------------------------------------------------------------------------------

BODY = b'{"id":"msg_x","alert":"a"}'
PLAIN = "my plain secret"
# The same key written both ways: whsec_ carries base64 of the bytes the plain form uses.
WHSEC_OF_PLAIN = "whsec_" + base64.b64encode(PLAIN.encode()).decode()


def signed_headers(secrets: list[str], msg_id: str = "msg_1", age: float = 0) -> dict[str, str]:
    stamp = int(time.time() - age)
    signature = " ".join(sign_webhook(s, msg_id, stamp, BODY) for s in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature,
    }


@pytest.mark.parametrize(
    ("signer", "verifier", "change", "valid"),
    [
        ([PLAIN], [PLAIN], None, True),
        ([WHSEC_OF_PLAIN], [PLAIN], None, True),
        ([PLAIN], [WHSEC_OF_PLAIN], None, True),
        (["old", "new"], ["new"], None, True),
        (["old", "new"], ["old"], None, True),
        (["old"], ["other", "old"], None, True),
        ([PLAIN], ["whsec_" + base64.b64encode(b"other").decode()], None, False),
        ([PLAIN], [PLAIN], "body", False),
        ([PLAIN], [PLAIN], "id", False),
        ([PLAIN], [PLAIN], "old", False),
        ([PLAIN], [PLAIN], "future", False),
        ([PLAIN], [PLAIN], "v2", False),
        ([PLAIN], [PLAIN], "no-signature", False),
        ([PLAIN], [PLAIN], "upper-case-names", True),
    ],
)
def test_verify_webhook(
    signer: list[str], verifier: list[str], change: str | None, valid: bool
) -> None:
    headers = signed_headers(signer)
    body = BODY
    if change == "body":
        body = BODY.replace(b'"a"', b'"b"')
    elif change == "id":
        headers["webhook-id"] = "msg_2"
    elif change == "old":
        headers = signed_headers(signer, age=301)
    elif change == "future":
        headers = signed_headers(signer, age=-301)
    elif change == "v2":
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
    elif change == "no-signature":
        del headers["webhook-signature"]
    elif change == "upper-case-names":
        headers = {k.title(): v for k, v in headers.items()}
    assert verify_webhook(verifier, headers, body) is valid


def test_tolerance_is_configurable() -> None:
    headers = signed_headers([PLAIN], age=1000)
    assert not verify_webhook([PLAIN], headers, BODY)
    assert verify_webhook([PLAIN], headers, BODY, tolerance=2000)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_@@@not-base64"])
def test_bad_secrets_are_config_errors(secret: str) -> None:
    with pytest.raises(ConfigError) as caught:
        sign_webhook(secret, "msg_1", 0, BODY)
    assert "not-base64" not in str(caught.value)


# --- payload and its schema ------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        make_message(),
        make_message(story=StoryInfo(id=3, outlets=("lemonde-pixels", "franceinfo"))),
        make_message(published=None),
        make_message(published=datetime(2025, 3, 14, 9, 30)),
        make_message(published=datetime(2025, 3, 14, 9, 30, tzinfo=timezone(timedelta(hours=1)))),
    ],
)
def test_payload_matches_the_schema(message: AlertMessage) -> None:
    payload = json.loads(json.dumps(webhook_payload(message)))
    jsonschema.validate(payload, SCHEMA)
    article = payload["article"]
    assert article["url"] == message.article.url
    assert article["title"] == message.article.title
    assert article["source"] == message.article.source
    assert article["language"] == "fr"
    assert payload["matched"] == ["amazon", "ia", "licenciements"]
    if message.article.published is None:
        assert article["published"] is None
    else:
        published = datetime.fromisoformat(article["published"])
        assert published.tzinfo is not None
        assert published.replace(tzinfo=None) == message.article.published.replace(tzinfo=None)
    assert ("story" in payload) is (message.story is not None)
    jsonschema.validate(digest_payload("daily", [message, message]), SCHEMA)


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.pop("id"),
        lambda p: p["article"].pop("url"),
        lambda p: p.update(type="other"),
        lambda p: p.update(matched="amazon"),
        lambda p: p.update(story={"id": "x", "outlets": []}),
    ],
)
def test_the_schema_rejects_broken_payloads(damage: Callable[[dict[str, Any]], object]) -> None:
    payload = json.loads(json.dumps(webhook_payload(make_message())))
    damage(payload)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, SCHEMA)


def test_the_documented_example_body_matches_the_schema() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "alerts.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", docs, flags=re.DOTALL)
    assert blocks, "docs/alerts.md lost its example body"
    for block in blocks:
        jsonschema.validate(json.loads(block), SCHEMA)
