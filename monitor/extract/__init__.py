"""Extraction stage: HTML page → article body and metadata; listing page → article links.

Pure: takes bytes or text and returns frozen dataclasses, with no network or file I/O.
The pipeline calls ``extract_article`` on each new article page it fetched and
``extract_links`` on ``kind: page`` sources' listing pages; ``monitor extract`` prints
``article_to_dict`` of one page.
"""

from monitor.extract._encoding import decode_html
from monitor.extract._extract import extract_article
from monitor.extract._links import extract_links
from monitor.extract._model import Article, article_to_dict

__all__ = ["Article", "article_to_dict", "decode_html", "extract_article", "extract_links"]
