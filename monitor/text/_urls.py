"""URL helpers every stage shares: what site a URL is on, and a URL safe to print."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

# ``scheme://user:password@`` anywhere in a text (a log line, an error quoting a URL).
# An unescaped password may hold "/" or "@": it runs to the "@" before the host, unless
# what precedes a "/" is a port (``http://host:8080/@user`` has no password).
_USERINFO = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/?#@:]*:)"
    r"(?P<password>(?!\d+/)[^\s?#]*?)"
    r"@(?=[^\s@/?#]*(?:[\s/?#]|$))",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """Drop a password from a URL before it is printed or logged."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed host: the text-wide rule still applies
        return redact_urls(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    # An unescaped "/" or "@" in a password hides it from urlsplit.
    return redact_urls(url)


def redact_urls(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _USERINFO.sub(lambda m: f"{m['head']}***@", text)


def host_of(url: str) -> str:
    """The lower-cased host of ``url``; "" when it has none or is not a URL at all."""
    # urlsplit raises on a malformed IPv6 host: callers want "no host", not an error.
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def site_of(host: str, prefixes: Sequence[str] = ("www.",)) -> str:
    """``host`` lower-cased, without the ``prefixes`` that name the same site's other doors.

    Each prefix is removed at most once, in the order given: with ("www.", "m."),
    "www.m.example.org" is "example.org" but "m.www.example.org" is "www.example.org".
    Pass ``host_of(url)`` for a URL.
    """
    site = host.lower()
    for prefix in prefixes:
        site = site.removeprefix(prefix)
    return site


def on_site(host: str, site: str) -> bool:
    """Whether ``host`` is ``site`` or one of its subdomains (both as ``site_of`` gives them)."""
    return host == site or host.endswith("." + site)


def split_host_port(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9100`` for IPv6; an empty host is 127.0.0.1) as a pair;
    ValueError when it is not one."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9100")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) surely stays on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def without_userinfo(url: str) -> str:
    """``url`` without its ``user:password@``: what is stored and shown of an article's
    link. A listing page fetched with credentials passes them on to its relative links;
    the fetch needs them, the archive and the alerts must not keep them."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_urls(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
