"""Dedupe: canonical URLs, exact-copy fingerprints and near-copy stories (pure, no I/O).

The pipeline keys each article by ``url_key`` of its canonical URL (``pick_canonical``
once the page declared one), so a link seen again is skipped before it is fetched. For
a new article, ``body_fingerprint`` catches exact copies and a ``StoryIndex`` of MinHash
``signature``s finds the story an article is a near copy of: one story, one alert. On
PostgreSQL the same index lives in the database: the store looks up ``band_keys`` and
``nearest_story`` scores what it finds, exactly as ``StoryIndex.find`` would.
"""

from monitor.dedupe._fingerprint import body_fingerprint
from monitor.dedupe._index import StoryIndex, band_keys, nearest_story
from monitor.dedupe._minhash import Signature, fingerprint_and_signature, same_story, signature
from monitor.dedupe._urls import canonical_url, pick_canonical, url_key

__all__ = [
    "Signature",
    "StoryIndex",
    "band_keys",
    "body_fingerprint",
    "canonical_url",
    "fingerprint_and_signature",
    "nearest_story",
    "pick_canonical",
    "same_story",
    "signature",
    "url_key",
]
