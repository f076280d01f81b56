"""Similar questions read as one: twelve households asking about their health-insurance card in different words
become one entry with twelve names, so an officer prepares one answer.

Texts are compared on an accent-free, filler-free key (``bot.text.fold`` without "xin hỏi", "ạ", "vậy"...) with
rapidfuzz, only within one topic. Clustering is greedy "leader" clustering in first-seen order: an entry joins the
most similar earlier leader scoring at least ``threshold``, else it leads a new group. Identical keys are merged
first and new keys are screened in batches against the leaders with ``process.cdist`` (all cores), so 50,000
entries take seconds while the outcome stays exactly that of the plain sequential loop.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.text import fold

# Folded (accent-free) phrases that carry no meaning of their own; longest first so "cho toi hoi" wins over "cho".
_FILLERS = sorted((
    "xin hoi", "cho toi hoi", "cho em hoi", "cho chau hoi", "cho con hoi", "cho hoi", "toi muon hoi", "em muon hoi",
    "muon hoi", "xin cho biet", "cho toi biet", "cho biet", "xin cam on", "cam on", "kinh thua", "thua", "xin",
    "vui long", "lam on", "a", "vay", "nhe", "nha", "oi", "ah", "nhi", "day",
    "toi", "minh", "nha toi", "gia dinh toi", "gia dinh", "ho toi", "chung toi",
    # function words and question words: "khi nào" and "bao giờ" ask the same thing
    "duoc", "co", "khong", "chua", "cua", "cho", "thi", "la", "ma", "va", "roi", "nay", "do", "se", "da", "dang",
    "bi", "ve", "viec", "nhung", "cac", "mot", "nhu", "nao", "gi", "sao", "bao gio", "khi nao", "luc nao",
    "tai sao", "vi sao", "lam sao", "the nao", "ra sao", "o dau", "bao nhieu", "moi", "nua", "van", "con",
), key=len, reverse=True)
_FILLER_RE = re.compile(r"\b(?:" + "|".join(re.escape(f) for f in _FILLERS) + r")\b")
# Abbreviations households write, spelled out so "thẻ BHYT" meets "thẻ bảo hiểm y tế".
_ABBREVIATIONS = {
    "bhyt": "bao hiem y te", "bhxh": "bao hiem xa hoi", "nhcsxh": "ngan hang chinh sach xa hoi",
    "xkld": "xuat khau lao dong", "ld": "lao dong", "tbxh": "thuong binh xa hoi", "ubnd": "uy ban nhan dan",
    "hs": "hoc sinh", "sv": "sinh vien", "ko": "khong", "k": "khong", "dc": "duoc",
}
_ABBREVIATION_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, _ABBREVIATIONS)) + r")\b")
_BATCH = 512


@dataclass(slots=True)
class Item:
    submission_id: int
    text: str
    person_name: str
    hamlet_id: str | None
    field_id: str
    topic_id: str
    kind: str
    status: str
    media_kind: str | None


@dataclass(slots=True)
class Group:
    items: list[Item]
    representative: str

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def names(self) -> list[str]:
        """Household names in first-seen order, each once."""
        return list(dict.fromkeys(i.person_name for i in self.items if i.person_name))

    @property
    def hamlets(self) -> list[str]:
        """Hamlet ids in first-seen order, each once."""
        return list(dict.fromkeys(i.hamlet_id for i in self.items if i.hamlet_id))

    @property
    def topic_id(self) -> str:
        return self.items[0].topic_id


def _accent_table() -> dict[int, str]:
    """``bot.text.fold`` letter by letter, as a str.translate table: the same keys, many times faster."""
    letters = (chr(c) for c in range(0xC0, 0x1F00))
    return {ord(ch): fold(ch) for ch in letters if ch.isalpha() and fold(ch) != ch and len(fold(ch)) == 1}


_ACCENTS = _accent_table()
_NOT_WORD = re.compile(r"[^\w\s]")


def comparison_key(text: str) -> str:
    """What is compared: accent- and case-free, abbreviations spelled out, filler words and punctuation gone."""
    folded = _NOT_WORD.sub(" ", unicodedata.normalize("NFC", text).casefold().translate(_ACCENTS))
    key = _ABBREVIATION_RE.sub(lambda m: _ABBREVIATIONS[m.group(0)], folded)
    return " ".join(_FILLER_RE.sub(" ", key).split())


def group_similar(items: Sequence[Item], threshold: int = 80) -> list[Group]:
    """Groups of similar questions, per topic; largest group first, then in the order first seen.

    Entries without words (a voice message, a photo) stay alone: nothing says they ask the same thing.
    """
    keys = [comparison_key(item.text) for item in items]
    by_topic: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_topic.setdefault(item.topic_id, []).append(index)
    clusters: list[list[int]] = []
    for indexes in by_topic.values():
        clusters.extend(_cluster_topic(keys, indexes, threshold))
    clusters.sort(key=lambda members: (-len(members), members[0]))
    return [Group([items[i] for i in members], _representative(items, keys, members)) for members in clusters]


def _cluster_topic(all_keys: list[str], indexes: list[int], threshold: int) -> list[list[int]]:
    by_key: dict[str, list[int]] = {}
    alone: list[list[int]] = []
    for index in indexes:
        key = all_keys[index]
        if key:
            by_key.setdefault(key, []).append(index)
        else:
            alone.append([index])
    # A one-word key ("nhà") is inside many longer ones: it only meets its own exact twins.
    keys = [key for key in by_key if " " in key]
    clusters: dict[str, list[int]] = {key: by_key[key] for key in by_key if " " not in key}
    for key, leader in zip(keys, _leaders(keys, threshold), strict=True):
        clusters.setdefault(keys[leader], []).extend(by_key[key])
    return [sorted(members) for members in clusters.values()] + alone


def _leaders(keys: list[str], threshold: int) -> list[int]:
    """For each key (in order) the index of the key leading its group — the sequential greedy outcome.

    Each batch is scored against the leaders known before it in one parallel ``cdist``; only the leaders born
    inside the batch are tried one by one. On a tie the older leader wins, as in the sequential loop.
    """
    leaders: list[int] = []
    result: list[int] = []
    for start in range(0, len(keys), _BATCH):
        batch = keys[start:start + _BATCH]
        known = len(leaders)
        scores = (process.cdist(batch, [keys[i] for i in leaders], scorer=fuzz.token_set_ratio,
                                score_cutoff=threshold, dtype=np.float64, workers=-1) if known else None)
        born: list[str] = []
        for offset, key in enumerate(batch):
            best, best_score = -1, 0.0
            if scores is not None and (row := scores[offset]).any():
                best = int(row.argmax())
                best_score = float(row[best])
            fresh = process.extractOne(key, born, scorer=fuzz.token_set_ratio, score_cutoff=max(best_score, threshold))
            if fresh is not None and fresh[1] > best_score:
                best = known + fresh[2]
            if best < 0:
                leaders.append(start + offset)
                born.append(key)
                best = len(leaders) - 1
            result.append(leaders[best])
    return result


def _representative(items: Sequence[Item], keys: list[str], members: list[int]) -> str:
    """The wording most households used (first seen on a tie)."""
    counts = Counter(keys[i] for i in members)
    best = max(counts.values())
    return next(items[i].text for i in members if counts[keys[i]] == best)
