"""Canonical article URLs: one spelling per article, whatever link led to it.

The same article reaches us through a feed link with ``utm_*`` and ``xtor`` tags, an AMP
or mobile variant, a link with a fragment or a trailing slash. The store keys articles by
``url_key`` of the canonical URL, so each of those spellings must collapse to one string,
and two different articles must never do so. When unsure, we keep a URL as it is: a missed
merge costs a duplicate that near-copy detection still catches, a wrong merge loses an
article.
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import re
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only say who sent the reader: campaign tags, click ids, analytics
# (Google, Facebook, Microsoft, Mailchimp, AT Internet / Piano, Webtrends, comScore...).
_TRACKING_EXACT = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid", "mkt_tok", "_hsenc", "_hsmi",
        "xtor", "xts", "xtref", "xtdt", "xtcr", "_ga", "_gl", "ncid", "ocid", "cmpid",
        "icid", "smid", "smtyp", "partner", "emc", "sr_share", "ref_src", "ref_url",
        "spm", "s_cid", "s_kwcid", "ito", "ns_mchannel",
        "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "oly_enc_id", "oly_anon_id",
        "vero_id", "vero_conv", "__twitter_impression", "wt.mc_id", "wt.mc_ev", "mbid",
        "cmp", "at_xt", "amp", "amp_js_v", "amp_gsa", "usqp", "_amp",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "mc_", "at_", "pk_", "mtm_", "hsa_", "oly_", "ga_", "wt.")
# "output" and "outputType" are only tracking when they ask for the AMP rendering.
_AMP_VALUED = frozenset({"outputtype", "output"})

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Host prefixes that name a rendering of the same site, not a different site.
_VARIANT_LABELS = ("www", "m", "mobile", "amp")
_AMP_SUFFIX = re.compile(r"(?:\.amp)+(?=\.html?$|$)")
_AMP_CACHE = re.compile(r"^/[a-z]/(s/)?(.+)$")
_GOOGLE_AMP = re.compile(r"^/amp/(s/)?(.+)$")
_HOME_PATH = re.compile(r"^/(?:(?:index|default|home|accueil)(?:\.\w{2,5})?)?$", re.IGNORECASE)
# "/economie", "/tech": a section front, which a misconfigured CMS may declare for
# every article in the section. Article slugs have digits, hyphens or a file extension.
_SECTION_PATH = re.compile(r"^/[^\W\d_]{1,24}$")
# Second-level labels under which a country's sites register (bbc.co.uk, gouv.fr).
_SECOND_LEVEL = frozenset(
    {"co", "com", "net", "org", "gov", "gouv", "ac", "edu", "ne", "or", "go", "gob", "nic",
     "ltd", "plc", "sch", "asso", "nom", "info", "biz", "mil"}
)  # fmt: skip
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
# RFC 3986 unreserved characters never need escaping; everything else keeps its escape.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _is_tracking(name: str, value: str) -> bool:
    key = name.lower()
    if key in _AMP_VALUED:
        return value.lower() == "amp"
    return key in _TRACKING_EXACT or key.startswith(_TRACKING_PREFIXES)


def _normalise_escapes(part: str, safe: str) -> str:
    """Uppercase escapes, unescape unreserved characters, escape what must be."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group()[1:], 16))
        return char if char in _UNRESERVED else match.group().upper()

    return quote(_PERCENT.sub(fix, part), safe=safe)


def _host(hostname: str) -> str:
    # Not monitor.text.site_of: this host is part of every stored article's key, so its
    # rules (IDNA, any number of variant labels, never below two labels) must not move
    # with how the other stages read a site.
    host = hostname.lower().rstrip(".")
    # A host the IDNA codec refuses stays as it is: still a stable key.
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    labels = host.split(".")
    # Strip variant labels, but never down to a single label ("m.example" stays).
    while len(labels) > 2 and labels[0] in _VARIANT_LABELS:
        labels = labels[1:]
    return ".".join(labels)


def _path(path: str) -> str:
    """The normalised path; repeated until stable, as one rule can expose another's case."""
    current = _path_once(path)
    while (following := _path_once(current)) != current:
        current = following  # each pass only removes: this ends
    return current


def _path_once(path: str) -> str:
    path = _normalise_escapes(path, _PATH_SAFE) or "/"
    # Dot segments resolve as a browser would; a path can never climb above the root.
    resolved = posixpath.normpath(path) if path != "/" else "/"
    if path.endswith("/") and resolved != "/":
        resolved += "/"
    segments = resolved.split("/")
    # AMP renderings: /amp/..., .../amp, .../article.amp(.html); loops keep it idempotent.
    while len(segments) > 2 and segments[1] == "amp":
        segments.pop(1)
    while segments and segments[-1] in ("", "amp") and len(segments) > 1:
        segments.pop()
    if segments:
        segments[-1] = _AMP_SUFFIX.sub("", segments[-1])
    path = "/".join(segments)
    return path if path.startswith("/") else "/" + path


def _query(query: str) -> str:
    pairs = [
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if not _is_tracking(name, value)
    ]
    pairs.sort()
    return urlencode(pairs, quote_via=quote, safe="/:@!$'()*+,;-._~")


def _unwrap_amp_cache(host: str, path: str) -> str | None:
    """The publisher URL inside an AMP cache or Google AMP viewer URL, if ``url`` is one."""
    if host.endswith(".cdn.ampproject.org"):
        match = _AMP_CACHE.match(path)
    elif host == "google.com":
        match = _GOOGLE_AMP.match(path)
    else:
        return None
    if not match or "." not in match.group(2).split("/", 1)[0]:
        return None
    return ("https://" if match.group(1) else "http://") + match.group(2)


def canonical_url(url: str) -> str:
    """The one spelling of ``url`` that every variant of the same article shares.

    Lowercases scheme and host (IDNA-encoded), drops default ports, credentials,
    fragments, tracking parameters and ``www.``/``m.``/``amp.`` host prefixes, undoes
    AMP paths and caches, sorts the query and drops trailing slashes. Idempotent. A URL
    that is not absolute http(s) is returned stripped but otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = _host(parts.hostname)
    inner = _unwrap_amp_cache(host, parts.path)
    if inner is not None:
        # Strictly shorter than ``url``, so the recursion ends.
        return canonical_url(f"{inner}?{parts.query}" if parts.query else inner)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    # "#!" fragments are routes on old single-page sites, not positions in a page.
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, _path(parts.path), _query(parts.query), fragment))


def _registrable(host: str) -> str:
    """The registrable part of ``host``, near enough without a public-suffix list.

    Coarser than ``monitor.text.site_of`` on purpose: a canonical URL on a sister
    subdomain (news. vs www.) is still the publisher's own.
    """
    labels = host.split(".")
    if labels[-1].isdigit() or ":" in host:
        return host  # an IP address is its own site
    wide = len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL
    return ".".join(labels[-3:] if wide else labels[-2:])


def pick_canonical(url: str, declared: str | None) -> str:
    """The canonical URL of the page at ``url`` whose HTML declared ``declared``.

    ``declared`` (rel=canonical or og:url, possibly relative) wins when it is http(s), on
    the same site, and neither the home page nor a section front above the article: CMS
    templates that point every article at one of those, or at another site, would
    otherwise merge unrelated articles under one key. ``url`` should be the address the
    page was finally fetched from, after redirects. Returns a ``canonical_url``.
    """
    own = canonical_url(url)
    if not declared or not declared.strip():
        return own
    try:
        candidate = canonical_url(urljoin(url, declared.strip()))
        chosen, page = urlsplit(candidate), urlsplit(own)
    except ValueError:
        return own
    if chosen.scheme not in _DEFAULT_PORTS or not chosen.hostname or not page.hostname:
        return own
    if _registrable(chosen.hostname) != _registrable(page.hostname):
        return own
    if not chosen.query and (
        _HOME_PATH.match(chosen.path)
        or (_SECTION_PATH.match(chosen.path) and page.path.count("/") > 1)
    ):
        return own
    return candidate


def url_key(url: str) -> str:
    """A hex digest of the canonical URL: the article's unique key in the store.

    http and https spell the same article, so the key ignores the scheme.
    """
    canonical = canonical_url(url)
    scheme, _, rest = canonical.partition("://")
    material = rest if scheme in _DEFAULT_PORTS else canonical
    return hashlib.blake2b(material.encode("utf-8"), digest_size=16).hexdigest()
