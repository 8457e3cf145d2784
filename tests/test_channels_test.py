"""``monitor channels test NAME`` against real local receivers: an aiosmtpd server and
a local HTTP server taking the webhook, each accepting and refusing."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.clikit import Result
from tests.faultserver import FaultServer, Reply
from tests.sitekit import HOOK_SECRET, MailSink, free_port, verify_signature

Run = Callable[..., Result]


class RefusingSink(MailSink):
    """An SMTP server that refuses every recipient with a 550."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return "550 5.1.1 <nobody@example.org>: mailbox unavailable"


def _smtp(sink: MailSink) -> Iterator[MailSink]:
    chatty = logging.getLogger("mail.log")
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    sink.port = free_port()
    # server_hostname: without it aiosmtpd asks socket.getfqdn(), seconds on some hosts.
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, server_hostname="localhost")
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
        chatty.setLevel(level)


@pytest.fixture
def smtp() -> Iterator[MailSink]:
    yield from _smtp(MailSink())


@pytest.fixture
def refusing_smtp() -> Iterator[MailSink]:
    yield from _smtp(RefusingSink())


@pytest.fixture
def hook() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def write_config(tmp_path: Path, channel: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"database: sqlite:///{tmp_path / 'm.db'}\n"
        "sources:\n  - name: s\n    url: https://example.org/feed.xml\n"
        "alerts:\n  - name: a\n    query: Amazon\n    notify: [probe]\n"
        f"channels:\n  probe:\n{channel}",
        encoding="utf-8",
    )
    return path


def email_channel(port: int) -> str:
    return (
        "    type: email\n    to: [veille@example.org]\n    from: monitor@example.org\n"
        f"    smtp: {{host: 127.0.0.1, port: {port}, tls: none}}\n"
    )


def webhook_channel(url: str) -> str:
    return (
        f"    type: webhook\n    url: {url}\n    secret: {HOOK_SECRET}\n"
        "    allow_private_networks: true\n    timeout: 3\n"
    )


def test_email_test_arrives_marked_and_prints_the_smtp_reply(
    run_cli: Run, tmp_path: Path, smtp: MailSink
) -> None:
    config = write_config(tmp_path, email_channel(smtp.port))
    result = run_cli("--config", str(config), "channels", "test", "probe")
    assert result.code == 0, result.err
    assert "250" in result.out and "accepted" in result.out
    (message,) = smtp.messages
    assert "TEST" in message["Subject"] and "probe" in message["Subject"]
    assert message["X-News-Monitor-Test"] == "yes"
    body = message.get_body(("plain",))
    assert body is not None and "not an alert" in body.get_content()


def test_email_refused_with_550_exits_1_with_the_reply(
    run_cli: Run, tmp_path: Path, refusing_smtp: MailSink
) -> None:
    config = write_config(tmp_path, email_channel(refusing_smtp.port))
    result = run_cli("--config", str(config), "channels", "test", "probe")
    assert result.code == 1
    assert "550" in result.err and "permanent" in result.err
    assert not refusing_smtp.messages


def test_email_to_a_closed_port_exits_1(run_cli: Run, tmp_path: Path) -> None:
    config = write_config(tmp_path, email_channel(free_port()))
    result = run_cli("--config", str(config), "channels", "test", "probe")
    assert result.code == 1
    assert "probe" in result.err and "failure" in result.err


def test_webhook_test_is_signed_and_prints_the_status(
    run_cli: Run, tmp_path: Path, hook: FaultServer
) -> None:
    url = hook.route("/hook", Reply(status=204))
    config = write_config(tmp_path, webhook_channel(url))
    result = run_cli("--config", str(config), "channels", "test", "probe")
    assert result.code == 0, result.err
    assert "HTTP 204" in result.out
    (request,) = hook.requests_to("/hook")
    assert verify_signature(request.headers, request.body)
    body = json.loads(request.body)
    assert body["type"] == "test" and body["channel"] == "probe"
    assert body["id"] == request.headers["webhook-id"]


@pytest.mark.parametrize(
    ("route", "expected"),
    [(Reply(b"boom", status=500), "answered 500"), (None, "failed")],
    ids=["http-500", "refused-connection"],
)
def test_webhook_failure_exits_1_with_the_answer(
    run_cli: Run, tmp_path: Path, hook: FaultServer, route: Reply | None, expected: str
) -> None:
    if route is not None:
        url = hook.route("/hook", route)
    else:
        url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    config = write_config(tmp_path, webhook_channel(url))
    result = run_cli("--config", str(config), "channels", "test", "probe")
    assert result.code == 1
    assert expected in result.err
    assert "ok:" not in result.out


def test_an_unknown_channel_is_named_with_the_known_ones(run_cli: Run, tmp_path: Path) -> None:
    config = write_config(tmp_path, "    type: log\n")
    result = run_cli("--config", str(config), "channels", "test", "nope")
    assert result.code == 2
    assert "nope" in result.err and "probe" in result.err


def test_log_channel_prints_the_test_block(run_cli: Run, tmp_path: Path) -> None:
    config = write_config(tmp_path, "    type: log\n")
    result = run_cli("--config", str(config), "channels", "test", "probe")
    assert result.code == 0
    assert "TEST MESSAGE" in result.out and "ok:" in result.out
