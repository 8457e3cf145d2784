"""The Fetcher's httpx client keeps no cookies.

One client serves every source and the webhook channels: a jar would carry one
source's cookies to every other page of its domain, and into POSTs to a user's
receiver, which no feed poll needs (pages are rendered in fresh contexts for the same
reason). httpx would still build two urllib adapter objects for each response to offer
its ``Set-Cookie`` to the jar (~20 us of CPU a response): the client here skips that.
"""

from __future__ import annotations

import httpx


class _NoCookies(httpx.Cookies):
    """A jar that stays empty: what a response sets is dropped, nothing is sent."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        return None


class CookielessClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose ``cookies`` is always an empty jar."""

    _none = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._none

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("the fetcher's client keeps no cookies")
