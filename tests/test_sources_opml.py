"""`monitor sources import | export`: a feed reader's OPML in, our sources out, no loss."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import load_config
from tests.clikit import Result

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
Cli = Callable[..., Result]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    shutil.copy(FIXTURES / "commented.yaml", path)
    return path


def test_import_of_a_feed_reader_export_keeps_the_file_and_tags_by_folder(
    config: Path, run_cli: Cli
) -> None:
    before = config.read_text()
    res = run_cli("--config", str(config), "sources", "import", str(FIXTURES / "freshrss.opml"))
    assert res.code == 0, res.err
    after = config.read_text()
    # Every line the user wrote is still there, in order, comments included.
    old_lines = before.splitlines()
    assert [line for line in after.splitlines() if line in old_lines] == old_lines
    assert after.startswith("# My sources: a comment at the top that must survive an import.")
    assert "interval: 15m       # they publish often" in after
    assert '"https://www.lemonde.fr/pixels/rss_full.xml"' in after  # its quotes too
    sources = {s.name: s for s in load_config(config).sources}
    # Seven feeds in the file, two of them the Pixels feed already configured.
    assert len(sources) == 2 + 5
    assert sources["le-blog-de-l-ia"].tags == ("Tech", "Intelligence artificielle")
    assert sources["le-blog-de-l-ia"].site == "https://blog.example.org/ia/"
    assert sources["les-echos-entreprises"].tags == ("Économie",)
    assert sources["hacker-news"].tags == ()
    # The duplicates are named, with the source they duplicate.
    assert "2 already present" in res.err
    assert (
        "http://lemonde.fr/pixels/rss_full.xml?utm_source=freshrss (already there as pixels)"
        in res.err
    )


def test_export_then_reimport_is_a_no_op(config: Path, tmp_path: Path, run_cli: Cli) -> None:
    opml = FIXTURES / "freshrss.opml"
    assert run_cli("--config", str(config), "sources", "import", str(opml)).code == 0
    exported = tmp_path / "export.opml"
    res = run_cli("--config", str(config), "sources", "export", "--output", str(exported))
    assert res.code == 0, res.err
    assert "exported 7 feeds" in res.err
    text = exported.read_text()
    assert 'xmlUrl="https://thegradient.pub/rss/"' in text
    assert 'htmlUrl="https://thegradient.pub/"' in text

    before = config.read_bytes()
    again = run_cli("--config", str(config), "sources", "import", str(exported))
    assert again.code == 0, again.err
    assert "0 sources added" in again.err and "7 already present" in again.err
    assert config.read_bytes() == before
    # And the export read into an empty config gives back the same sources and tags.
    fresh = tmp_path / "fresh" / "sources.yaml"
    fresh.parent.mkdir()
    assert run_cli("--config", str(fresh), "sources", "import", str(exported)).code == 0
    got = {s.url: s.tags for s in load_config(config).sources}
    back = {s.url: s.tags for s in load_config(fresh).sources}
    assert back == got


def test_print_writes_nothing_and_tag_applies_to_every_entry(config: Path, run_cli: Cli) -> None:
    before = config.read_bytes()
    res = run_cli(
        "--config", str(config), "sources", "import", str(FIXTURES / "freshrss.opml"),
        "--print", "--tag", "from-freshrss",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert config.read_bytes() == before
    assert res.out.startswith("sources:\n  - name: ars-technica-all-content\n")
    assert res.out.count("from-freshrss") == 5
    assert "5 sources to add (printed, nothing written)" in res.err


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<opml version='2.0'><body><outline text='a'>\n<outline xmlUrl='x'></body>",
         "bad.opml:2:"),
        (b"Subscriptions:\nhttps://example.org/feed\n", "bad.opml:1:0: not an OPML file"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML file (its root element is <rss>)"),
        (b"<?xml version='1.0'?>\n<!DOCTYPE opml [<!ENTITY a 'aaaaaaaaaa'>"
         b"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>\n<opml><body><outline text='&b;'"
         b" xmlUrl='https://x.org/f'/></body></opml>", "entities are not allowed"),
    ],
    ids=["truncated", "not-xml", "not-opml", "entity-bomb"],
)  # fmt: skip
def test_a_bad_opml_is_one_error_naming_the_file_and_nothing_is_written(
    config: Path, tmp_path: Path, run_cli: Cli, body: bytes, message: str
) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_bytes(body)
    before = config.read_bytes()
    res = run_cli("--config", str(config), "sources", "import", str(bad))
    assert res.code == 1
    assert message in res.err and str(bad) in res.err
    assert len(res.err.strip().splitlines()) == 1, res.err
    assert "Traceback" not in res.err
    assert config.read_bytes() == before


@pytest.mark.parametrize("fixture", ["commented.yaml", "anchors.yaml"])
def test_an_import_leaves_every_byte_of_the_file_in_place(
    fixture: str, tmp_path: Path, run_cli: Cli
) -> None:
    config = tmp_path / "sources.yaml"
    shutil.copy(FIXTURES / fixture, config)
    before = config.read_text()
    opml = tmp_path / "one.opml"
    opml.write_text(
        '<opml version="1.0"><body><outline text="Nouveau" xmlUrl="https://new.example/rss"/></body></opml>'
    )
    res = run_cli("--config", str(config), "sources", "import", str(opml))
    assert res.code == 0, res.err
    after = config.read_text()
    added = "name: nouveau\n"
    assert added in after
    # The file is the old one with the entry's lines inserted in one place.
    start = after.index(added) - after[: after.index(added)][::-1].index("\n")
    end = after.index("url: https://new.example/rss\n") + len("url: https://new.example/rss\n")
    assert after[:start] + after[end:] == before
    loaded = load_config(config)
    assert loaded.sources[-1].name == "nouveau"
