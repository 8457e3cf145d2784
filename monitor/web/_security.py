"""What keeps the web view safe to expose: where it may listen, who may read it, the
headers every answer carries, and the secrets no answer may contain.

Loopback needs no token; any other address does (``http.token``), and the server
refuses to start without one. A reader proves the token with ``Authorization: Bearer``
or, in a browser, by opening any page once with ``?token=``: the answer is a redirect
to the same page without it (so the token stays out of the history and the Referer),
setting an HttpOnly, SameSite=Strict cookie that holds a digest of the token, not the
token itself.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.observe import Handler, Request, Response
from monitor.text import is_loopback

COOKIE = "monitor_session"
# No inline script or style can run or apply: a title that smuggles markup past the
# escaping still does nothing. Forms may only submit here; no one may frame the pages.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# Probes carry no credentials, and the answer is one word: it stays open.
OPEN_PATHS = frozenset({"/healthz"})


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token (a ConfigError: exit 2)."""
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"http: listening on {host or '*'} (not loopback) needs a token: set http.token "
            'in sources.yaml, e.g. `http: {token: "${MONITOR_HTTP_TOKEN}"}`'
        )


def guarded(handler: Handler, token: str | None) -> Handler:
    """``handler`` behind the token check, every answer with the security headers."""
    session = _session(token) if token else None

    async def handle(request: Request) -> Response:
        if session is None or request.path in OPEN_PATHS:
            response = await handler(request)
        elif request.arg("token"):
            response = _login(request, token or "", session)
        elif _authorized(request, token or "", session):
            response = await handler(request)
        else:
            response = Response(
                401,
                b"this monitor needs its token: send 'Authorization: Bearer TOKEN', "
                b"or open a page once with ?token=TOKEN\n",
                headers={"WWW-Authenticate": 'Bearer realm="news-monitor"'},
            )
        return Response(
            response.status, response.body, response.content_type,
            {**response.headers, **SECURITY_HEADERS},
        )  # fmt: skip

    return handle


def _session(token: str) -> str:
    return hmac.new(token.encode(), b"news-monitor web session", hashlib.sha256).hexdigest()


def _authorized(request: Request, token: str, session: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    try:
        cookie = SimpleCookie(request.headers.get("cookie", ""))
    except CookieError:
        return False
    morsel = cookie.get(COOKIE)
    return morsel is not None and hmac.compare_digest(morsel.value.encode(), session.encode())


def _login(request: Request, token: str, session: str) -> Response:
    if not hmac.compare_digest(request.arg("token").encode(), token.encode()):
        return Response(401, b"wrong token\n")
    rest = {k: v for k, v in request.query.items() if k != "token"}
    # The path arrives decoded: quote it again, so no CR/LF or non-ASCII reaches the
    # header, and never let it start with "//" (another host, to a browser).
    path = "/" + quote(request.path, safe="/").lstrip("/")
    where = path + ("?" + urlencode(rest, doseq=True) if rest else "")
    cookie = f"{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"
    return Response(303, b"", headers={"Location": where, "Set-Cookie": cookie})


def secrets_of(config: Config) -> tuple[str, ...]:
    """Every secret the config holds: none may appear in a page or an API answer."""
    found: list[str] = []
    if config.http.token:
        found.append(config.http.token)
    password = urlsplit(config.database).password
    if password:
        found.append(password)
    for channel in config.channels.values():
        found.extend(channel.secret_values())
    for source in config.sources:
        # A feed URL may carry an API key (password or query): errors can quote it.
        parts = urlsplit(source.url)
        found.extend(v for v in (parts.password, parts.query) if v)
        found.extend(v for _, v in parse_qsl(parts.query) if v)
    # Short values would blank ordinary words; a secret that short is no secret anyway.
    return tuple(sorted({s for s in found if len(s) >= 6}, key=len, reverse=True))


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` (JSON-like data) with every secret in its strings replaced by ``***``."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, secrets) for v in value]
    return value
