"""``monitor extract URL-or-FILE``: what the extractor finds on one page."""

from __future__ import annotations

import json

from monitor.pipeline import extract_target


def extract(target: str, *, as_json: bool, selector: str | None) -> int:
    article, data = extract_target(target, selector)
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return 0
    for key, value in data.items():
        if key != "text" and value not in (None, "", [], ()):
            print(f"{key}: {value}")
    print()
    print(article.text)
    return 0
