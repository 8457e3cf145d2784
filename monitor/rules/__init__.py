"""The alert query language: parse a rule once, match it against articles.

Stage of the flow: after the store has kept an article as new, the pipeline asks the
``RuleIndex`` holding every alert's ``Query`` which rules match its ``Document``; each
``Match`` (terms, where they matched, a highlighted snippet) goes on to the outbox.
Pure: strings in, frozen dataclasses out. The one state kept, the ``Vocabulary`` of
words seen in articles (which makes matching cheap), belongs to the index or query that
uses it, never to the process. The language is described for users in
docs/query-language.md.
"""

from monitor.rules._analysis import WordNotes, learn_notes, note_words, take_notes
from monitor.rules._index import RuleIndex
from monitor.rules._model import Document, Match
from monitor.rules._prefilter import article_keys
from monitor.rules._query import Query, parse_query
from monitor.rules._vocabulary import Vocabulary

__all__ = [
    "Document",
    "Match",
    "Query",
    "RuleIndex",
    "Vocabulary",
    "WordNotes",
    "article_keys",
    "learn_notes",
    "note_words",
    "parse_query",
    "take_notes",
]
