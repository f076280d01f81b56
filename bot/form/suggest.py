"""Say it first: the topic a typed question is most likely about, and the kind of thing it is.

The topic catalogue is the only knowledge: each topic's name (its word pairs) and the ``keywords`` the commune
configured for it (``[[fields.topics]] keywords = [...]``). A question and every term are read as the digest reads
questions (``bot.core.wording.comparison_key``: accents, case, greetings and typing shortcuts do not matter). A term
found in the question counts its length in syllables, times how rare the term is across topics (a term several
topics share says little). Topics are ranked by that score; ties keep the catalogue's order.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.core.config import Field_
from bot.core.wording import comparison_key

NAME_PAIR_WEIGHT = 0.5  # a pair of words of the topic's name counts half a configured keyword of two syllables

# Words that say the text is not a question (folded, as in a comparison key); the first found wins.
KIND_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("petition", re.compile(r"\bkien nghi\b")),
    ("proposal", re.compile(r"\b(?:de xuat|de nghi)\b")),
    ("opinion", re.compile(r"\b(?:y kien|gop y|phan anh)\b")),
)


@dataclass(frozen=True, slots=True)
class Suggestion:
    field_id: str
    topic_id: str
    score: float


@dataclass(frozen=True, slots=True)
class _Term:
    phrase: str          # a comparison key: "bao hiem y te"
    weight: float        # syllables (or a name pair's share)


@dataclass(frozen=True, slots=True)
class _TopicTerms:
    field_id: str
    topic_id: str
    terms: tuple[_Term, ...]


def rank_topics(text: str, fields: Sequence[Field_]) -> list[Suggestion]:
    """Every topic of the catalogue, likeliest first; a score of 0 means no word of the text points to it."""
    key = f" {comparison_key(text)} "
    index, rarity = _index(_catalogue_key(fields))
    scored = []
    for position, topic in enumerate(index):
        score = sum(term.weight * rarity[term.phrase] for term in topic.terms if f" {term.phrase} " in key)
        scored.append((-score, position, Suggestion(topic.field_id, topic.topic_id, round(score, 6))))
    return [suggestion for _, _, suggestion in sorted(scored)]


def suggest(text: str, fields: Sequence[Field_], count: int = 3) -> list[Suggestion]:
    """The ``count`` likeliest topics that some word of the text points to (none when nothing does)."""
    return [s for s in rank_topics(text, fields) if s.score > 0][:count]


def guess_kind(text: str) -> str:
    """"question" unless the text itself says it is a petition, a proposal or an opinion."""
    key = comparison_key(text)
    return next((kind for kind, pattern in KIND_WORDS if pattern.search(key)), "question")


# --- the catalogue, read once per configuration ------------------------------------------------------------------

CatalogueKey = tuple[tuple[str, str, str, tuple[str, ...]], ...]


def _catalogue_key(fields: Sequence[Field_]) -> CatalogueKey:
    return tuple((f.id, t.id, t.name, tuple(t.keywords)) for f in fields for t in f.topics)


@lru_cache(maxsize=8)
def _index(catalogue: CatalogueKey) -> tuple[list[_TopicTerms], dict[str, float]]:
    topics = []
    for field_id, topic_id, name, keywords in catalogue:
        terms: dict[str, float] = {}
        for part in re.split(r"[,;]", name):
            for first, second in itertools.pairwise(comparison_key(part).split()):
                terms.setdefault(f"{first} {second}", NAME_PAIR_WEIGHT * 2)
        for keyword in keywords:
            phrase = comparison_key(keyword)
            if phrase:
                terms[phrase] = float(len(phrase.split()))
        topics.append(_TopicTerms(field_id, topic_id, tuple(_Term(p, w) for p, w in terms.items())))
    holders: dict[str, int] = {}
    for topic in topics:
        for term in topic.terms:
            holders[term.phrase] = holders.get(term.phrase, 0) + 1
    rarity = {phrase: math.log(1 + len(topics) / count) for phrase, count in holders.items()}
    return topics, rarity
