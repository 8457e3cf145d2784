"""extract_article and extract_links never raise on hostile or broken markup."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.extract import Article, extract_article, extract_links

_TAGS = ["div", "p", "article", "a", "br", "span", "table", "td", "li", "ul", "script", "h1"]
_ATTRS = [
    "",
    ' class=" "',
    ' class="article-body"',
    ' class="x&quot;y\\\\"',
    ' class="comments"',
    ' class="widget blog-post"',
    ' href="javascript:x"',
    ' href="/a/b-c-d-e"',
    " hidden",
    ' style="display:none"',
    ' itemprop="articleBody"',
    ' lang="zz-??"',
]
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@st.composite
def _markup(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 25))):
        tag = draw(st.sampled_from(_TAGS))
        attrs = draw(st.sampled_from(_ATTRS))
        parts.append(f"<{tag}{attrs}>{draw(_TEXT)}")
        if draw(st.booleans()):
            parts.append(f"</{tag}>")
    return "".join(parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_markup(), st.sampled_from([None, "https://example.com/x/y", "not a url"]))
def test_extract_article_never_raises(html: str, url: str | None) -> None:
    article = extract_article(html, url)
    assert isinstance(article, Article)
    assert article.quality in ("ok", "empty", "short", "paywalled", "blocked")
    assert "\x00" not in article.text


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([None, "utf-8", "bogus", "cp1251"]))
def test_bytes_in_any_encoding_never_raise(data: bytes, charset: str | None) -> None:
    assert isinstance(extract_article(data, charset=charset), Article)


@settings(max_examples=100, deadline=None)
@given(_markup())
def test_extract_links_never_raises(html: str) -> None:
    for link in extract_links(html, "https://example.com/section/"):
        assert link.startswith(("http://", "https://"))
