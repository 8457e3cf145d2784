"""WebhookNotifier against a real local HTTP receiver that checks Standard Webhooks signatures."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import ipaddress
import json
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest

from monitor.alerts import (
    AlertMessage,
    ArticleInfo,
    StoryInfo,
    WebhookNotifier,
    digest_id,
    verify_webhook,
    webhook_payload,
)
from monitor.errors import BlockedAddress, ConfigError, ConnectFailed, DeliveryError, FetchTimeout
from monitor.store import alert_id

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "docs" / "webhook.schema.json").read_text()
)
OLD_SECRET = "whsec_" + base64.b64encode(b"the-old-key-0123456789abcdef").decode()
NEW_SECRET = "a plain new secret"


def make_message(url: str = "https://news.example.com/amazon-ai-layoffs") -> AlertMessage:
    return AlertMessage(
        id=alert_id("amazon-ai-layoffs", zlib.crc32(url.encode()), "ops-hook"),
        alert="amazon-ai-layoffs",
        query="Amazon AI layoffs",
        matched=("amazon", "ai", "layoffs"),
        article=ArticleInfo(
            url=url,
            title="Amazon employees warn that AI will drive layoffs",
            source="example-news",
            published=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
            language="en",
            snippet="... an open letter from Amazon staff says AI is used to justify layoffs ...",
            snippet_html=(
                "... an open letter from <mark>Amazon</mark> staff says <mark>AI</mark> "
                "is used to justify <mark>layoffs</mark> ..."
            ),
        ),
        story=StoryInfo(id=7, outlets=("example-news", "tech-daily")),
        created=datetime(2025, 3, 14, 9, 31, tzinfo=UTC),
    )


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool


class Receiver:
    """A webhook endpoint: verifies each request with ``verify_webhook``, then answers as told.

    Unsigned or badly signed requests get 401, as a careful receiver would answer.
    """

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self.replies: list[Reply] = []
        self.seen: list[Seen] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = verify_webhook(receiver.secrets, headers, body)
                receiver.seen.append(Seen(self.path, headers, body, ok))
                reply = receiver.replies.pop(0) if receiver.replies else Reply()
                if not ok:
                    reply = Reply(401)
                receiver.release.wait(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the notifier gave up (timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0KEN-in-path"
        # A short poll interval keeps shutdown (hence each test) fast.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver([NEW_SECRET])
    server.thread.start()
    yield server
    server.close()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


async def post(
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    timeout: float,  # noqa: ASYNC109 (the PostFunc signature)
) -> Answer:
    """A small stand-in for monitor.fetch.Fetcher.post: same signature, same error types."""
    host = urlsplit(url).hostname or ""
    if not allow_private and ipaddress.ip_address(host).is_loopback:
        raise BlockedAddress(f"{host} is a loopback address", url)
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout) as client:
        try:
            response = await client.post(url, content=content, headers=dict(headers))
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"timeout: {exc}", url) from exc
        except httpx.TransportError as exc:
            raise ConnectFailed(f"connection failed: {exc}", url) from exc
    return Answer(response.status_code, dict(response.headers), response.content)


def hook(url: str, secrets: list[str] | None = None, **kwargs: Any) -> WebhookNotifier:
    options: dict[str, Any] = {"allow_private": True, "timeout": 5.0}
    options.update(kwargs)
    return WebhookNotifier(url=url, secrets=secrets or [NEW_SECRET], post=post, **options)


def recompute(key: bytes, headers: Mapping[str, str], body: bytes) -> str:
    """The signature, computed here from the spec without the code under test."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


async def test_delivered_alert_is_signed_json_matching_the_schema(receiver: Receiver) -> None:
    message = make_message()
    await hook(receiver.url).send(message)

    [seen] = receiver.seen
    assert seen.verified
    assert seen.path == "/hooks/T0KEN-in-path"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["webhook-id"] == message.id
    assert abs(int(seen.headers["webhook-timestamp"]) - time.time()) < 30
    assert seen.headers["webhook-signature"] == recompute(
        NEW_SECRET.encode(), seen.headers, seen.body
    )
    body = json.loads(seen.body)
    jsonschema.validate(body, SCHEMA)
    assert body == webhook_payload(message)
    assert body["id"] == message.id
    assert body["type"] == "alert"
    assert body["article"]["url"] == message.article.url
    assert body["story"] == {"id": 7, "outlets": ["example-news", "tech-daily"]}
    assert datetime.fromisoformat(body["article"]["published"]) == message.article.published


async def test_key_rotation_signs_with_every_secret(receiver: Receiver) -> None:
    await hook(receiver.url, secrets=[OLD_SECRET, NEW_SECRET]).send(make_message())
    [seen] = receiver.seen
    assert seen.verified  # the receiver knows only the new secret
    signatures = seen.headers["webhook-signature"].split(" ")
    old_key = base64.b64decode(OLD_SECRET.removeprefix("whsec_"))
    assert signatures == [
        recompute(old_key, seen.headers, seen.body),
        recompute(NEW_SECRET.encode(), seen.headers, seen.body),
    ]
    # A receiver still on the old secret accepts it too.
    assert verify_webhook([OLD_SECRET], seen.headers, seen.body)


async def test_a_retried_alert_keeps_its_webhook_id(receiver: Receiver) -> None:
    receiver.replies = [Reply(503)]
    message = make_message()
    notifier = hook(receiver.url)
    with pytest.raises(DeliveryError):
        await notifier.send(message)
    await notifier.send(message)
    await notifier.send(make_message(url="https://news.example.com/other"))
    ids = [s.headers["webhook-id"] for s in receiver.seen]
    assert ids[0] == ids[1] == message.id != ids[2]
    assert [json.loads(s.body)["id"] for s in receiver.seen] == ids


async def test_a_receiver_with_another_secret_refuses_it(receiver: Receiver) -> None:
    with pytest.raises(DeliveryError, match="401"):
        await hook(receiver.url, secrets=["not the receiver's secret"]).send(make_message())
    assert [s.verified for s in receiver.seen] == [False]


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_2xx_is_success(receiver: Receiver, status: int) -> None:
    receiver.replies = [Reply(status)]
    await hook(receiver.url).send(make_message())
    assert len(receiver.seen) == 1


def http_date_in(seconds: int) -> str:
    return formatdate(time.time() + seconds, usegmt=True)


@pytest.mark.parametrize(
    ("reply", "permanent", "retry_after", "words"),
    [
        (Reply(410), True, None, "disable this channel"),
        (Reply(429, {"Retry-After": "7"}), False, (7, 7), "429"),
        # The date is made when the test runs: one made at collection would be stale by
        # then on a busy machine.
        (Reply(503, {"Retry-After": "date-in:120"}), False, (100, 121), "503"),
        (Reply(500), False, None, "500"),
        (Reply(400), False, None, "400"),
        (Reply(302, {"Location": "/elsewhere"}), False, None, "redirects are not followed"),
        (
            Reply(307, {"Location": "http://127.0.0.1:9/x"}),
            False,
            None,
            "redirects are not followed",
        ),
    ],
)
async def test_failures_by_status(
    receiver: Receiver,
    reply: Reply,
    permanent: bool,
    retry_after: tuple[float, float] | None,
    words: str,
) -> None:
    headers = {
        k: http_date_in(int(v.removeprefix("date-in:"))) if v.startswith("date-in:") else v
        for k, v in reply.headers.items()
    }
    receiver.replies = [dataclasses.replace(reply, headers=headers)]
    with pytest.raises(DeliveryError, match=words) as caught:
        await hook(receiver.url).send(make_message())
    error = caught.value
    assert error.permanent is permanent
    if retry_after is None:
        assert error.retry_after is None
    else:
        assert error.retry_after is not None
        assert retry_after[0] <= error.retry_after <= retry_after[1]
    # Redirects are not followed: the receiver saw one request, on the configured path.
    assert [s.path for s in receiver.seen] == ["/hooks/T0KEN-in-path"]
    # The token in the URL's path never reaches an error message (it ends up in status).
    assert "T0KEN" not in str(error)


async def test_a_slow_receiver_times_out(receiver: Receiver) -> None:
    receiver.replies = [Reply(200, delay=10)]
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="timeout") as caught:
        await hook(receiver.url, timeout=0.3).send(make_message())
    assert time.monotonic() - started < 2.5
    assert not caught.value.permanent


async def test_nobody_listening_is_retryable(receiver: Receiver) -> None:
    url = receiver.url
    receiver.close()
    with pytest.raises(DeliveryError) as caught:
        await hook(url).send(make_message())
    assert not caught.value.permanent


async def test_private_address_without_permission_is_permanent(receiver: Receiver) -> None:
    with pytest.raises(DeliveryError, match="allow_private_networks") as caught:
        await hook(receiver.url, allow_private=False).send(make_message())
    assert caught.value.permanent
    assert receiver.seen == []


async def test_digest_is_one_signed_post_with_every_alert(receiver: Receiver) -> None:
    messages = [make_message(), make_message(url="https://tech-daily.example/amazon-ai")]
    notifier = hook(receiver.url)
    await notifier.send_digest("daily", messages)
    await notifier.send_digest("daily", [])
    [seen] = receiver.seen
    assert seen.verified
    body = json.loads(seen.body)
    jsonschema.validate(body, SCHEMA)
    assert body["type"] == "digest"
    assert body["id"] == seen.headers["webhook-id"] == digest_id("daily", messages)
    assert body["count"] == 2
    assert [a["article"]["url"] for a in body["alerts"]] == [m.article.url for m in messages]


@pytest.mark.parametrize("secrets", [[], [""]])
async def test_without_a_secret_nothing_unsigned_is_sent(
    receiver: Receiver, secrets: list[str]
) -> None:
    # An unset ${WEBHOOK_SECRET:-} must not stop the daemon, nor let an unsigned POST out.
    notifier = WebhookNotifier(url=receiver.url, secrets=secrets, post=post, allow_private=True)
    with pytest.raises(DeliveryError, match="no secret") as caught:
        await notifier.send(make_message())
    assert caught.value.permanent
    assert receiver.seen == []


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"secrets": ["whsec_not base64!"]}, "base64"),
        ({"url": "ftp://hooks.example.org/x"}, "http"),
        ({"timeout": 0}, "positive"),
    ],
)
def test_invalid_settings_fail_at_construction(options: dict[str, Any], problem: str) -> None:
    settings: dict[str, Any] = {"url": "https://hooks.example.org/x", "secrets": [NEW_SECRET]}
    settings.update(options)
    with pytest.raises(ConfigError, match=problem) as caught:
        WebhookNotifier(post=post, **settings)
    assert "not base64!" not in str(caught.value)
