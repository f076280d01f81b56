"""Similar questions read as one: twelve households asking about their health-insurance card in different words
become one entry with twelve names, so an officer prepares one answer.

Texts are compared on an accent-free, filler-free key (``bot.text.fold`` without "xin hỏi", "ạ", "vậy"...) with
rapidfuzz, only within one topic. Clustering is greedy "leader" clustering in first-seen order: an entry joins the
most similar earlier leader scoring at least ``threshold`` (``fuzz.token_set_ratio``), else it leads a new group.
Keys with the same words are merged first and the others are screened in batches against the leaders with
``process.cdist`` (all cores), so 50,000 entries take seconds while the outcome stays exactly that of the plain
sequential loop. The cost grows with entries × groups per topic: 50,000 all-different questions would be slow.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from bot.core.text import fold

# Words that carry no meaning of their own here: politeness, pronouns, function and question words ("khi nào" and
# "bao giờ" ask the same thing). Matched with their accents, because without them many are other, meaningful words:
# "vậy" (so) is not "vay" (borrow), "nha" (particle) is not "nhà" (house), "dạ" is not "dạy" (teach).
_FILLERS = (
    "xin hỏi", "cho tôi hỏi", "cho em hỏi", "cho cháu hỏi", "cho con hỏi", "cho hỏi", "tôi muốn hỏi", "em muốn hỏi",
    "muốn hỏi", "xin cho biết", "cho tôi biết", "cho biết", "xin cảm ơn", "cảm ơn", "kính thưa", "thưa", "xin",
    "vui lòng", "làm ơn", "ạ", "à", "vậy", "nhé", "nha", "ơi", "nhỉ", "dạ", "vâng",
    "tôi", "mình", "nhà tôi", "gia đình tôi", "gia đình", "hộ tôi", "chúng tôi",
    "được", "có", "không", "chưa", "của", "cho", "thì", "là", "mà", "và", "rồi", "này", "đó", "sẽ", "đã", "đang",
    "bị", "về", "việc", "những", "các", "một", "như", "nào", "gì", "sao", "bao giờ", "khi nào", "lúc nào",
    "tại sao", "vì sao", "làm sao", "thế nào", "ra sao", "ở đâu", "bao nhiêu", "mới", "nữa", "vẫn", "còn",
)
# The same, typed without accents: only those that cannot be mistaken for another word.
_PLAIN_FILLERS = (
    "xin hoi", "cho toi hoi", "cho em hoi", "cho hoi", "toi muon hoi", "muon hoi", "cho biet", "cam on",
    "kinh thua", "toi", "nha toi", "gia dinh", "duoc", "khong", "chua", "cua", "nhung", "bao gio", "khi nao",
    "luc nao", "tai sao", "vi sao", "lam sao", "the nao", "o dau", "bao nhieu",
)


def _words(words: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for whole words and phrases, longest first so "cho tôi hỏi" wins over "cho"."""
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b")


_FILLER_RE = _words(_FILLERS + _PLAIN_FILLERS)
_PLAIN_FILLER_RE = _words(_PLAIN_FILLERS)
# Abbreviations households write, spelled out so "thẻ BHYT" meets "thẻ bảo hiểm y tế".
_ABBREVIATIONS = {
    "bhyt": "bao hiem y te", "bhxh": "bao hiem xa hoi", "nhcsxh": "ngan hang chinh sach xa hoi",
    "xkld": "xuat khau lao dong", "ld": "lao dong", "tbxh": "thuong binh xa hoi", "ubnd": "uy ban nhan dan",
    "hs": "hoc sinh", "sv": "sinh vien", "ko": "khong", "k": "khong", "dc": "duoc",
}
_ABBREVIATION_RE = _words(tuple(_ABBREVIATIONS))
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


@cache
def _accent_table() -> dict[int, str]:
    """``bot.text.fold`` letter by letter, as a str.translate table: the same keys, many times faster (built on
    first use: importing this module must stay cheap, the bot's start-up time matters)."""
    letters = (chr(c) for c in range(0xC0, 0x1F00))
    return {ord(ch): fold(ch) for ch in letters if ch.isalpha() and fold(ch) != ch and len(fold(ch)) == 1}


_NOT_WORD = re.compile(r"[^\w\s]")


def comparison_key(text: str) -> str:
    """What is compared: fillers and punctuation gone, accent- and case-free, abbreviations spelled out."""
    spoken = _FILLER_RE.sub(" ", _NOT_WORD.sub(" ", unicodedata.normalize("NFC", text).casefold()))
    key = _ABBREVIATION_RE.sub(lambda m: _ABBREVIATIONS[m.group(0)], spoken.translate(_accent_table()))
    return " ".join(_PLAIN_FILLER_RE.sub(" ", key).split())


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
        # token_set_ratio depends only on the set of words: one comparison serves every ordering and repetition
        key = " ".join(sorted(set(all_keys[index].split())))
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
    import numpy as np
    from rapidfuzz import fuzz, process

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
