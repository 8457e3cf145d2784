"""Class, id and text patterns that tell boilerplate from article content.

These are the names page templates give their parts across CMSs (WordPress, Drupal,
Arc, Brightspot, Ghost, hand-made sites): none is keyed to one site. Class and id
strings are split at case changes and punctuation so ``relatedArticles``,
``related-articles`` and ``related_articles`` all read as the word "related".
"""

from __future__ import annotations

import re
import string


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Class and id words are matched as whole tokens, and as two neighbouring tokens
# written together ("read-more" and "readmore" both give "readmore").
# Parts that never belong to an article's body, whatever else their class says.
_HARD = _words(
    """comment comments commentlist disqus respond replies share shares sharing sharebar
    social socials sociallinks follow related relatedposts relatedarticles morestories
    alsoread seealso readmore readnext nextup upnext mostread mostpopular popular trending
    newsletter newsletters subscribe subscription signup optin cookie cookies consent
    gdpr adslot adunit adcontainer dfp outbrain taboola zergnet sidebar sidebars rail
    footer nav navbar navigation menu breadcrumb breadcrumbs pagination pager"""
)
# Word beginnings ("recommended", "advertisement", "sponsored").
_HARD_PREFIXES = ("recommend", "recirc", "advert", "sponsor")
# Parts that are usually furniture, unless the same class also names content
# ("widget blog-post", "field-body field-label-hidden").
_SOFT = _words(
    """ad ads cmp banner promo promos promotion widget widgets foot popup modal overlay
    toolbar tools tags taglist keywords topics authorbio bio abouttheauthor caption credit
    credits copyright printonly skip skiplink sronly visuallyhidden hidden hide login
    masthead jump toc disclaimer rating inlinerelated cardlist byline dateline timestamp
    meta headline kicker eyebrow standfirst lightbox gallery video player podcast paywall
    regwall subscriber subscribers abonnes abonne premium locked"""
)
_SOFT_PREFIXES = ("screenreader",)
_PREFIXES = _HARD_PREFIXES + _SOFT_PREFIXES  # no word starts with both kinds
# Parts that name an article's body: they outweigh a negative word on the same node
# ("article-body has-comments") and steer the scorer toward the right container.
_POSITIVE = _words(
    """article articles body content entry main post text story prose richtext blog page
    column markdown hentry econtent postbody"""
)
_STRONG = _words(
    """articlebody articlecontent articletext storybody storycontent storytext postbody
    postcontent posttext entrybody entrycontent entrytext mainbody maincontent maintext
    bodytext bodycopy econtent richtext"""
)
# Embedded posts and quotes (tweets, Instagram posts) are part of the story they
# illustrate, even inside a "social-media-embed" box.
_EMBEDS = _words("embed embedded embeds tweet twitter-tweet instagram-media")
# Layout modifiers name what sits next to a part, not the part: "page with-sidebar".
_MODIFIERS = frozenset({"with", "w", "has", "no", "non", "without"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Every ASCII character is in the table, the others mapped to themselves: str.translate
# raises (and swallows) a KeyError for each character its table lacks, which cost more
# than the rest of judging a name.
_PUNCTUATION = str.maketrans(
    {chr(code): " " if chr(code) in string.punctuation else chr(code) for code in range(128)}
)

_ASCII_PUNCTUATION = bytes.maketrans(string.punctuation.encode(), b" " * len(string.punctuation))

# What one class name says, as bit flags; a node's label ORs its names' flags.
_STRONG_FLAG, _HARD_FLAG, _SOFT_FLAG, _POSITIVE_FLAG, _EMBED_FLAG = 1, 2, 4, 8, 16
_CACHE_MAX = 50_000
# Both caches are bounded: a long-running daemon meets endless generated class names.
_name_flags: dict[str, int] = {}
_weights: dict[str, int] = {}


# Every vocabulary word with the flags it carries, so a word costs one lookup.
_VOCABULARY: dict[str, int] = {}
for _flag, _vocabulary in (
    (_STRONG_FLAG, _STRONG),
    (_HARD_FLAG, _HARD),
    (_SOFT_FLAG, _SOFT),
    (_EMBED_FLAG, _EMBEDS),
    (_POSITIVE_FLAG, _POSITIVE),
):
    for _word in _vocabulary:
        _VOCABULARY[_word] = _VOCABULARY.get(_word, 0) | _flag


# The proper beginnings of every vocabulary word and prefix: two neighbouring words
# written together can say more than the first alone only when the first is one of
# these (else no vocabulary word starts with it, and any prefix it starts with it
# already carries), so the pair is looked up only then.
_STARTS = frozenset(
    word[:end] for word in (*_VOCABULARY, *_PREFIXES) for end in range(1, len(word))
)


def _word_flags(word: str) -> int:
    flags = _VOCABULARY.get(word, 0)
    if word.startswith(_PREFIXES):
        flags |= _HARD_FLAG if word.startswith(_HARD_PREFIXES) else _SOFT_FLAG
    return flags


def _judge(name: str) -> int:
    """What one class name says: its words, and each pair of neighbouring words
    written together, looked up in the vocabularies."""
    if name.isalnum() and name.islower():
        # One lowercase word, the commonest name: nothing to split.
        return 0 if name in _MODIFIERS else _word_flags(name)
    lowered = name.lower()
    if lowered != name:  # camelCase: "relatedArticles" is two words
        lowered = _CAMEL.sub("-", name).lower()
    flags = 0
    previous = ""
    if lowered.isascii():  # bytes.translate is one table lookup per byte, in C
        spaced = lowered.encode().translate(_ASCII_PUNCTUATION).decode()
    else:
        spaced = lowered.translate(_PUNCTUATION)
    for part in spaced.split():
        if part in _MODIFIERS:
            break  # "has-sidebar": the rest of this class name describes a neighbour
        flags |= _word_flags(part)
        if previous in _STARTS:  # "" is not in it
            flags |= _word_flags(previous + part)
        previous = part
    return flags


def _flags(name: str) -> int:
    # Class names repeat across a site's elements and pages far more than whole
    # class attributes do, so they are what is cached first.
    flags = _name_flags.get(name)
    if flags is None:
        if len(_name_flags) > _CACHE_MAX:
            _name_flags.clear()
        flags = _name_flags[name] = _judge(name)
    return flags


def class_weight(label: str) -> int:
    """Score a node's ``class`` and ``id`` joined by a space: +40 names an article body,
    +25 content, 0 neither (or both), -25 furniture, -50 never article text."""
    cached = _weights.get(label)
    if cached is not None:
        return cached
    flags = 0
    for name in label.split():
        flags |= _flags(name)
    if flags & _STRONG_FLAG:
        weight = 40
    elif flags & _EMBED_FLAG:
        weight = 0
    elif flags & _HARD_FLAG:
        weight = -50
    else:
        weight = (25 if flags & _POSITIVE_FLAG else 0) - (25 if flags & _SOFT_FLAG else 0)
    if len(_weights) > _CACHE_MAX:
        _weights.clear()
    _weights[label] = weight
    return weight


# Short lines that are template furniture in English and French.
BOILERPLATE_LINE = re.compile(
    r"^(?:advertisement|advertising|publicité|sponsored|sponsorisé|"
    r"(?:continue|keep) reading.*|read (?:more|next|also).*|lire (?:aussi|la suite|plus).*|"
    r"à lire aussi.*|à lire également.*|voir aussi.*|see also.*|related(?: articles| stories)?:?.*|"
    r"you (?:may|might) also like.*|more from .{0,40}|recommended(?: for you)?:?|"
    r"sur le même (?:sujet|thème).*|dans la même rubrique.*|vous aimerez aussi.*|"
    r"share (?:this|on).*|partager.*|follow us.*|suivez-nous.*|"
    r"(?:sign up|subscribe|inscrivez-vous|abonnez-vous)\b.*|"
    r"(?:already a subscriber|déjà abonné|la suite (?:de cet article )?est réservée).*|"
    r"(?:click|tap) here.*|(?:photo|image|credit|crédit|source)s?\s*:.*|©.*|copyright.*|"
    r"all rights reserved.*|tous droits réservés.*|"
    r"(?:this|the) (?:article|story) (?:continues|is) below.*|story continues below.*|"
    r"(?:leave|post|add) a comment.*|\d+ comments?|comments?|commentaires?|"
    r"(?:updated|published|posted|mis à jour|publié)\b.{0,60}|"
    r"(?:by|par)\s+[\w.'\- ]{2,40}|"
    r"we use cookies.*|nous utilisons des cookies.*|"
    r"(?:enable|activate) javascript.*|loading\W*|chargement.*)$",
    re.IGNORECASE,
)
# The same pattern, case-sensitive, for lower-cased lines: case-insensitive, re tries
# each of its alternatives at the first character (a case fold per comparison);
# case-sensitive, it skips every alternative whose first letter differs.
_BOILERPLATE_LOWER = re.compile(BOILERPLATE_LINE.pattern)
# The letters str.lower and re's case-insensitive matching treat apart: "İ" lowers to
# two characters, and re also folds "ı" to "i" and "ſ" to "s".
_FOLDED_APART = ("İ", "ı", "ſ")


def boilerplate_line(line: str) -> bool:
    """``BOILERPLATE_LINE.match(line)``, found faster on the lower-cased line."""
    if line.isascii() or not any(letter in line for letter in _FOLDED_APART):
        return _BOILERPLATE_LOWER.match(line.lower()) is not None
    return BOILERPLATE_LINE.match(line) is not None
