"""EmailNotifier against real local SMTP servers (aiosmtpd): plain, STARTTLS and implicit TLS."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.alerts import (
    AlertMessage,
    ArticleInfo,
    EmailNotifier,
    StoryInfo,
    digest_id,
)
from monitor.errors import DeliveryError
from monitor.store import alert_id

USER, PASSWORD = "monitor", "s3cret-pass"


def make_message(
    title: str = "Des salariés d'Amazon dénoncent les licenciements liés à l'IA",
    url: str = "https://www.example.fr/tech/amazon-lettre-ouverte",
    source: str = "lemonde-pixels",
    story: StoryInfo | None = None,
    rule: str = "amazon-ia-licenciements",
) -> AlertMessage:
    return AlertMessage(
        id=alert_id(rule, zlib.crc32(url.encode()), "team-mail"),
        alert=rule,
        query="Amazon IA licenciements",
        matched=("amazon", "ia", "licenciements"),
        article=ArticleInfo(
            url=url,
            title=title,
            source=source,
            published=datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
            language="fr",
            snippet="… des salariés d'Amazon craignent des licenciements massifs liés à l'IA …",
            snippet_html=(
                "… des salariés d'<mark>Amazon</mark> craignent des "
                "<mark>licenciements</mark> massifs liés à l'<mark>IA</mark> …"
            ),
        ),
        story=story,
        created=datetime(2025, 3, 14, 9, 35, tzinfo=UTC),
    )


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    over_tls: bool


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message and how it arrived."""

    refuse_rcpt: str | None = None
    received: list[Received] = field(default_factory=list)
    tls_at_login: list[bool] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, tls))
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        self.tls_at_login.append(server.transport.get_extra_info("ssl_object") is not None)
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)


@pytest.fixture(autouse=True)
async def settle() -> AsyncIterator[None]:
    """Lets closing TLS connections finish before the test's event loop is closed.

    asyncio completes a TLS close (close_notify both ways) in later loop turns; a loop closed
    right after the test would leave the raw socket open and pytest would report it leaked.
    """
    yield
    await asyncio.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    folder = tmp_path_factory.mktemp("tls")
    key, crt = folder / "key.pem", folder / "cert.pem"
    command = ["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=localhost"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-keyout", str(key), "-out", str(crt)]
    command += ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return crt, key


@pytest.fixture
def client_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


def server_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    return context


@dataclass
class Server:
    port: int
    recorder: Recorder


def start(recorder: Recorder, **kwargs: Any) -> tuple[Controller, Server]:
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, Server(port, recorder)


@pytest.fixture
def plain_server() -> Iterator[Server]:
    """An SMTP server that offers no STARTTLS and no AUTH."""
    controller, server = start(Recorder())
    yield server
    controller.stop()


@pytest.fixture
def starttls_server(cert: tuple[Path, Path]) -> Iterator[Server]:
    recorder = Recorder()
    controller, server = start(
        recorder,
        tls_context=server_tls(cert),
        authenticator=recorder.authenticate,
        auth_require_tls=True,
    )
    yield server
    controller.stop()


@pytest.fixture
def ssl_server(cert: tuple[Path, Path]) -> Iterator[Server]:
    recorder = Recorder()
    # aiosmtpd only knows STARTTLS as "TLS"; on an implicit-TLS socket AUTH is already safe.
    controller, server = start(
        recorder,
        ssl_context=server_tls(cert),
        authenticator=recorder.authenticate,
        auth_require_tls=False,
    )
    yield server
    controller.stop()


def notifier(port: int, **kwargs: Any) -> EmailNotifier:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "monitor@example.org",
        "to": ["veille@example.org", "ops@example.org"],
        "tls": "none",
        "timeout": 5.0,
    }
    options.update(kwargs)
    return EmailNotifier(**options)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


async def test_starttls_mode_refuses_a_server_without_starttls(plain_server: Server) -> None:
    mailer = notifier(plain_server.port, tls="starttls")
    with pytest.raises(DeliveryError, match="STARTTLS") as caught:
        await mailer.send(make_message())
    assert not caught.value.permanent
    assert plain_server.recorder.received == []


async def test_plain_delivery_is_multipart_with_everything_a_reader_needs(
    plain_server: Server,
) -> None:
    message = make_message()
    await notifier(plain_server.port).send(message)

    [got] = plain_server.recorder.received
    assert got.mail_from == "monitor@example.org"
    assert got.rcpt_tos == ["veille@example.org", "ops@example.org"]
    mail = got.message
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"] == f"[amazon-ia-licenciements] {message.article.title}"
    assert mail["Message-ID"] == f"<{message.id}@news-monitor>"
    assert mail["Auto-Submitted"] == "auto-generated"
    text, html = parts(mail)
    for body in (text, html):
        assert message.article.url in body
        assert "lemonde-pixels" in body
        # A French article on a channel without a locale: French, dates in UTC.
        assert "14 mars 2025, 09:30 UTC" in body
    assert message.article.title in text
    assert any(f"Des salariés d{q}Amazon" in html for q in ("&#x27;", "&#39;", "'"))
    assert "craignent des licenciements massifs" in text
    assert "<mark" in html and ">licenciements</mark>" in html


async def test_a_resent_alert_keeps_its_message_id(plain_server: Server) -> None:
    message = make_message()
    mailer = notifier(plain_server.port)
    await mailer.send(message)
    await mailer.send(message)
    await mailer.send(make_message(url="https://www.example.fr/autre"))
    ids = [r.message["Message-ID"] for r in plain_server.recorder.received]
    assert ids[0] == ids[1] == f"<{message.id}@news-monitor>"
    assert ids[2] != ids[0]


@pytest.mark.parametrize(
    ("template", "subject"),
    [
        ("[{alert}] {title}", "[amazon-ia-licenciements] Amazon: lettre ouverte"),
        (
            "{source}: {title} ({matched})",
            "lemonde-pixels: Amazon: lettre ouverte (amazon, ia, licenciements)",
        ),
        ("Veille {alert}", "Veille amazon-ia-licenciements"),
    ],
)
async def test_subject_follows_the_template(
    plain_server: Server, template: str, subject: str
) -> None:
    await notifier(plain_server.port, subject_template=template).send(
        make_message(title="Amazon:\n lettre   ouverte")
    )
    [got] = plain_server.recorder.received
    assert got.message["Subject"] == subject


async def test_starttls_with_authentication(
    starttls_server: Server, client_tls: ssl.SSLContext
) -> None:
    mailer = notifier(
        starttls_server.port,
        tls="starttls",
        username=USER,
        password=PASSWORD,
        tls_context=client_tls,
    )
    await mailer.send(make_message())
    [got] = starttls_server.recorder.received
    assert got.over_tls
    # The credentials went over the encrypted channel only.
    assert starttls_server.recorder.tls_at_login == [True]


async def test_wrong_password_is_a_permanent_failure(
    starttls_server: Server, client_tls: ssl.SSLContext
) -> None:
    mailer = notifier(
        starttls_server.port,
        tls="starttls",
        username=USER,
        password="wrong",
        tls_context=client_tls,
    )
    with pytest.raises(DeliveryError, match="535") as caught:
        await mailer.send(make_message())
    assert caught.value.permanent
    assert "wrong" not in str(caught.value)
    assert starttls_server.recorder.received == []


async def test_implicit_tls_on_an_ssl_port(ssl_server: Server, client_tls: ssl.SSLContext) -> None:
    mailer = notifier(
        ssl_server.port, tls="ssl", username=USER, password=PASSWORD, tls_context=client_tls
    )
    await mailer.send(make_message())
    [got] = ssl_server.recorder.received
    assert got.over_tls
    assert ssl_server.recorder.tls_at_login == [True]


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
async def test_an_untrusted_certificate_is_refused(
    ssl_server: Server, starttls_server: Server, tls: str
) -> None:
    # No tls_context: the system trust store, which does not know the test's own CA.
    server = ssl_server if tls == "ssl" else starttls_server
    with pytest.raises(DeliveryError, match="certificate verify failed"):
        await notifier(server.port, tls=tls).send(make_message())
    assert server.recorder.received == []
    assert server.recorder.tls_at_login == []


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 No such user", True), ("451 4.3.0 Try again later", False)],
)
async def test_refused_recipients(plain_server: Server, reply: str, permanent: bool) -> None:
    plain_server.recorder.refuse_rcpt = reply
    with pytest.raises(DeliveryError, match=reply[:3]) as caught:
        await notifier(plain_server.port).send(make_message())
    assert caught.value.permanent is permanent
    assert plain_server.recorder.received == []


async def test_no_server_listening_is_a_retryable_failure() -> None:
    with pytest.raises(DeliveryError) as caught:
        await notifier(free_port()).send(make_message())
    assert not caught.value.permanent


async def test_a_server_that_never_greets_times_out() -> None:
    with socket.socket() as silent:
        # The kernel completes the handshake from the backlog; nobody ever answers.
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="timed out"):
            await notifier(silent.getsockname()[1], timeout=0.5).send(make_message())
        assert time.monotonic() - started < 3.0


async def test_digest_email_lists_every_story_once(plain_server: Server) -> None:
    story = StoryInfo(id=42, outlets=("lemonde-pixels", "franceinfo"))
    messages = [
        make_message(story=story),
        make_message(
            title="Amazon : la lettre des salariés sur l'IA",
            url="https://www.franceinfo.example/amazon",
            source="franceinfo",
            story=story,
        ),
        make_message(
            title="Amazon employees warn AI will drive layoffs",
            url="https://news.example.com/amazon-ai-layoffs",
            source="example-news",
            rule="amazon-ai-layoffs",
        ),
    ]
    await notifier(plain_server.port).send_digest("veille-quotidienne", messages)
    await notifier(plain_server.port).send_digest("veille-quotidienne", [])

    [got] = plain_server.recorder.received
    mail = got.message
    assert mail["Subject"] == "[veille-quotidienne] 2 nouveaux sujets"
    assert mail["Message-ID"] == f"<{digest_id('veille-quotidienne', messages)}@news-monitor>"
    text, html = parts(mail)
    for body in (text, html):
        assert messages[0].article.url in body
        assert messages[2].article.url in body
        # The second outlet of story 42 is folded into it, not listed as a story of its
        # own: only its name appears, linked to its copy.
        assert body.count(messages[1].article.url) == 1
        assert "franceinfo" in body
    assert text.count("\n1. ") == 1 and text.count("\n2. ") == 1 and "\n3. " not in text
    assert html.count("<li>") == 2


def _channel_config(port: int, smtp_extra: str) -> Any:
    from monitor.config import parse_config

    text = (
        "channels:\n  mail:\n    type: email\n    to: veille@example.org\n"
        "    from: monitor@example.org\n"
        f"    smtp: {{host: 127.0.0.1, port: {port}, tls: starttls, username: {USER},"
        f" password: {PASSWORD}, timeout: 5{smtp_extra}}}\n"
    )
    return parse_config(text, "s.yaml", {}).channels["mail"]


async def test_a_relay_with_a_private_ca_is_trusted_through_ca_file(
    starttls_server: Server, cert: tuple[Path, Path]
) -> None:
    from monitor.alerts._build import ChannelContext

    channel = _channel_config(starttls_server.port, f", ca_file: '{cert[0]}'")
    mailer = EmailNotifier.from_config(channel, ChannelContext(None, False))  # type: ignore[arg-type]
    await mailer.send(make_message())
    [got] = starttls_server.recorder.received
    assert got.over_tls and starttls_server.recorder.tls_at_login == [True]
    # The same relay without ca_file: the system's CAs do not know it, nothing is sent.
    plain = EmailNotifier.from_config(
        _channel_config(starttls_server.port, ""),
        ChannelContext(None, False),  # type: ignore[arg-type]
    )
    with pytest.raises(DeliveryError, match="certificate verify failed"):
        await plain.send(make_message())
    assert len(starttls_server.recorder.received) == 1


async def test_verify_false_skips_the_certificate_check(starttls_server: Server) -> None:
    from monitor.alerts._build import ChannelContext

    channel = _channel_config(starttls_server.port, ", verify: false")
    mailer = EmailNotifier.from_config(channel, ChannelContext(None, False))  # type: ignore[arg-type]
    await mailer.send(make_message())
    [got] = starttls_server.recorder.received
    assert got.over_tls  # still encrypted, just not authenticated


def test_a_ca_file_that_is_not_pem_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    from monitor.config import InvalidConfig

    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    for ca in (bogus, tmp_path / "missing.pem"):
        with pytest.raises(InvalidConfig) as info:
            _channel_config(25, f", ca_file: '{ca}'")
        assert "s.yaml:6: channels.mail.smtp.ca_file: cannot load it" in str(info.value)
