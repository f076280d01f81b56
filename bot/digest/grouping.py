"""Similar questions read as one: twelve households asking when their health-insurance card comes, in different
words, become one entry with twelve names, so an officer prepares one answer.

Two questions share a group only when one answer from the agency answers both, so precision comes first:

1. Each text becomes a comparison key (``comparison_key``): accent- and case-free, greetings, pronouns and
   particles gone, typing shortcuts spelled out ("ko", "dc", "bn", "j", "BHYT"). Particles that are words once
   their accents are gone ("nha" for "nhà", house; "vay" for "vay", borrow) are dropped only where the writer
   used accents, or, in a text typed without any, where the place in the sentence says they are particles.
2. Within one topic, a word seen once that is one letter away from a word of the topic (or of our own word lists)
   is read as that word: a typo.
3. The kind of ask — why, when, how long, interest rate, how much, where, which papers, how, whether, what, or
   none (a request, a complaint) — is read from the question words. It is part of the meaning: questions of
   different kinds never share a group ("when is the card issued" / "how much of it does the state pay").
4. The rest (the content words) is compared as TF-IDF vectors of words and word pairs (IDF per topic, from the
   questions at hand), by cosine against each group's centroid. Distinct wordings are clustered most common
   first; a wording joins the closest group at ``threshold`` or above, else it starts one. Groups are looked up
   through the words they contain, so the cost grows with questions × groups sharing a word, not questions².

The text shown for a group is its most typical member (closest to the centroid), without the greeting around it.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from bot.core.wording import FILLER_PHRASES as _FILLER_PHRASES
from bot.core.wording import SHORTCUTS as _SHORTCUTS
from bot.core.wording import comparison_key
from bot.core.wording import phrases as _phrases
from bot.core.wording import word_features as _features

THRESHOLD = 0.4

# --- step 1: the comparison key: bot.core.wording ---------------------------------------------------------------

# --- step 3: the kind of ask ---------------------------------------------------------------------------------------

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(pattern)) for kind, pattern in (
    ("why", r"\b(?:tai sao|vi sao|ly do|sao lai)\b|(?<!\blam )(?<!\bra )(?<!\bthe )\bsao\b"),
    ("when", r"\b(?:khi nao|bao gio|luc nao|may gio|ngay nao|thang nao|thang may|nam nao|chung nao|hom nao)\b"),
    ("how long", r"\b(?:bao lau|thoi han|may nam)\b"),
    ("rate", r"\blai\b.*\b(?:bao nhieu|phan tram)\b|\b(?:bao nhieu|phan tram)\b.*\blai\b"),
    ("how much", r"\b(?:bao nhieu|may phan tram|may trieu|may tram|may chuc|toi da)\b"),
    ("where", r"\b(?:o dau|cho nao|noi nao|lien he|(?:len|di|nop|hoi|tu) dau)\b"),
    ("papers", r"\b(?:giay to|ho so|can nhung gi|can gi|mang theo|gom nhung gi)\b"),
    ("how", r"\b(?:lam sao|the nao|cach nao|lam gi|thu tuc)\b"),
    ("whether", r"\b(?:khong|chua)$|\b(?:co duoc|co phai|duoc khong|dieu kien)\b"),
    ("what", r"\b(?:gi|nao)\b"),
))
# The question words themselves, and words too common to tell two questions apart, are not content.
_ASK_RE = _phrases((
    "tai sao", "vi sao", "ly do", "sao lai", "sao", "khi nao", "bao gio", "luc nao", "may gio", "ngay nao",
    "thang nao", "thang may", "nam nao", "chung nao", "hom nao", "bao lau", "may nam", "bao nhieu",
    "may phan tram", "phan tram", "o dau", "cho nao", "noi nao", "dau", "can nhung gi", "gom nhung gi", "lam sao",
    "nhu the nao", "the nao", "cach nao", "lam gi", "gi", "nao", "khong", "chua", "co phai", "co", "duoc",
))
_STOPWORDS = frozenset((
    "thi la ma va roi nay do se da dang bi ve viec nhung cac mot nhu muon phai nua van hay qua rat o di len ra tu "
    "voi nam nay hien bay gio moi cho khi luc nhe ha oi thoi ai ay kia no de vao trong khoang").split())
# Words that name the same thing ("khi nào phát thẻ", "khi nào nhận thẻ"; "vay tạo việc làm" is "vay giải quyết
# việc làm"), one token each so a long name does not outweigh the rest; "đề nghị", "xin" only say it is a request.
_SYNONYMS = {"phat": "cap", "nhan": "cap", "xay": "lam", "heo": "lon"}
_COMPOUNDS = {
    "giai quyet viec lam": "vieclam", "tao viec lam": "vieclam", "viec lam": "vieclam", "dang ky": "dangky",
    "chi phi": "tien", "ra soat": "binhxet", "binh xet": "binhxet", "bao hiem y te": "bhyt", "de nghi": "",
    "xin": "", "thu tuc": "", "giay to": "", "ho so": "", "ngan hang chinh sach xa hoi": "nganhang",
    "ngan hang chinh sach": "nganhang", "ngan hang": "nganhang", "hoc sinh sinh vien": "sinhvien",
    "sinh vien": "sinhvien", "xuat khau lao dong": "xkld", "lai suat": "laisuat", "ho ngheo": "hongheo",
    "can ngheo": "canngheo", "hoc phi": "hocphi", "nuoc may": "nuocmay", "ho tro": "hotro",
}
_COMPOUND_RE = _phrases(_COMPOUNDS)


def ask_kind(key: str) -> str:
    """The kind of answer a comparison key asks for ("" for none: a request, a complaint, a statement)."""
    return next((kind for kind, pattern in _KINDS if pattern.search(key)), "")


def _content(key: str) -> list[str]:
    words = _COMPOUND_RE.sub(lambda m: _COMPOUNDS[m.group(0)], _ASK_RE.sub(" ", key)).split()
    return [_SYNONYMS.get(w, w) for w in words if w not in _STOPWORDS]


# --- step 2: typos, per topic --------------------------------------------------------------------------------------

@cache
def _known_words() -> frozenset[str]:
    """Words of our own lists: a typo of a question word is read as that word even in a small batch."""
    phrases = [*_FILLER_PHRASES, *_SHORTCUTS.values(), *_ASK_RE.pattern.replace("\\", "").split("|"), *_STOPWORDS]
    return frozenset(w for phrase in phrases for w in re.findall(r"[a-z]+", phrase))


def _typos_corrected(keys: list[str]) -> list[str]:
    """A word seen once that is one edit away from a word seen at least twice (or a known one) becomes it."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    counts = Counter(w for key in keys for w in key.split())
    common = sorted({w for w, n in counts.items() if n > 1 and len(w) >= 3} | _known_words())
    fixes: dict[str, str] = {}
    for word, n in counts.items():
        if n == 1 and len(word) >= 4 and word not in _known_words():
            found = process.extractOne(word, common, scorer=Levenshtein.distance, score_cutoff=1)
            if found is not None and len(found[0]) >= 3:
                fixes[word] = found[0]
    if not fixes:
        return keys
    return [" ".join(fixes.get(w, w) for w in key.split()) for key in keys]


# --- the public model ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
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


def group_similar(items: Sequence[Item], threshold: float = THRESHOLD) -> list[Group]:
    """Groups of questions one answer serves, per topic; largest group first, then in the order first seen.

    ``threshold`` is the least cosine similarity (0–1) of a question's content words to a group's. Entries without
    content words (a voice message, a photo, "alo") stay alone: nothing says they ask the same thing.
    """
    by_topic: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_topic.setdefault(item.topic_id, []).append(index)
    clusters: list[tuple[list[int], int]] = []
    for indexes in by_topic.values():
        clusters.extend(_cluster_topic([items[i].text for i in indexes], indexes, threshold))
    clusters.sort(key=lambda cluster: (-len(cluster[0]), cluster[0][0]))
    return [Group([items[i] for i in members], _shown(items[typical].text)) for members, typical in clusters]


# --- step 4: clustering one topic ----------------------------------------------------------------------------------

Vector = dict[str, float]


def _cluster_topic(texts: list[str], indexes: list[int], threshold: float) -> list[tuple[list[int], int]]:
    """(members, the most typical member) for each group of one topic's texts, as indexes into all items."""
    distinct = {text: comparison_key(text) for text in dict.fromkeys(texts)}   # households repeat each other
    keys = _typos_corrected([distinct[text] for text in texts])
    read = {key: (ask_kind(key), tuple(_content(key))) for key in dict.fromkeys(keys)}
    wordings: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    alone: list[tuple[list[int], int]] = []
    for position, key in enumerate(keys):
        if read[key][1]:
            wordings.setdefault(read[key], []).append(position)
        else:
            alone.append(([indexes[position]], indexes[position]))
    kinds = [kind for kind, _ in wordings]
    members = list(wordings.values())
    vectors = _tfidf([content for _, content in wordings], [len(m) for m in members])
    # the most common wording first: it is the likeliest centre of its group
    order = sorted(range(len(members)), key=lambda w: (-len(members[w]), members[w][0]))
    result: list[tuple[list[int], int]] = []
    for group in _leader_clusters(order, kinds, vectors, [len(m) for m in members], threshold):
        positions = sorted(p for w in group for p in members[w])
        result.append(([indexes[p] for p in positions], indexes[_most_typical(group, vectors, members)]))
    return result + alone


def _tfidf(contents: list[tuple[str, ...]], weights: list[int]) -> list[Vector]:
    """Unit TF-IDF vectors of words and adjacent word pairs (a pair counts half); IDF over the topic's texts."""
    features = [_features(content) for content in contents]
    df: Counter[str] = Counter()
    for feats, weight in zip(features, weights, strict=True):
        for feat in feats:
            df[feat] += weight
    total = sum(weights)
    vectors = []
    for feats in features:
        vector = {f: tf * (math.log((1 + total) / (1 + df[f])) + 1) for f, tf in feats.items()}
        norm = math.sqrt(sum(v * v for v in vector.values()))
        vectors.append({f: v / norm for f, v in vector.items()})
    return vectors


def _leader_clusters(order: list[int], kinds: list[str], vectors: list[Vector], sizes: list[int],
                     threshold: float) -> list[list[int]]:
    """Each wording joins the group of its kind whose centroid is closest (at ``threshold`` or more), else leads a
    new one. Candidate groups are those sharing a word with it (an inverted index), not every group."""
    groups: list[list[int]] = []
    sums: list[Vector] = []
    norms: list[float] = []
    index: dict[tuple[str, str], set[int]] = defaultdict(set)
    for w in order:
        vector = vectors[w]
        candidates = set().union(*(index.get((kinds[w], f), ()) for f in vector if " " not in f))
        best, best_score = -1, threshold
        for g in candidates:
            score = sum(v * sums[g].get(f, 0.0) for f, v in vector.items()) / norms[g]
            if score >= best_score and (best < 0 or score > best_score or g < best):
                best, best_score = g, score
        if best < 0:
            best = len(groups)
            groups.append([])
            sums.append({})
            norms.append(0.0)
        groups[best].append(w)
        total = sums[best]
        for f, v in vector.items():
            total[f] = total.get(f, 0.0) + v * sizes[w]
        norms[best] = math.sqrt(sum(v * v for v in total.values()))
        for f in vector:
            if " " not in f:
                index[(kinds[w], f)].add(best)
    return groups


def _most_typical(group: list[int], vectors: list[Vector], members: list[list[int]]) -> int:
    """The first-seen text of the wording closest to the group's centroid (weighted by how many used it)."""
    centroid: Counter[str] = Counter()
    for w in group:
        for f, v in vectors[w].items():
            centroid[f] += v * len(members[w])
    best = max(group, key=lambda w: (round(sum(v * centroid[f] for f, v in vectors[w].items()), 9),
                                     -members[w][0]))
    return members[best][0]


# --- the text shown ------------------------------------------------------------------------------------------------

_GREETING_START = re.compile(
    r"^\s*(?:(?:xin\s+)?ch[àa]o\b[^,.!?\n]*[,.!?]+|al[ôo]\b[,.!?]*|d[ạa]\s*,|kính thưa\b[^,.!?\n]*[,.!?]+)\s*",
    re.IGNORECASE)
_ASKING_START = re.compile(
    r"^\s*(?:xin hỏi|xin hoi|cho\s+(?:tôi|toi|em|e|mình|minh|cháu|chau|con|tui)?\s*hỏi|cho\s+(?:tôi|toi|em|e|mình|"
    r"minh|cháu|chau|con|tui)?\s*hoi|(?:tôi|em|e|toi)\s+muốn hỏi|(?:toi|em|e)\s+muon hoi)\b\s*,?\s*",
    re.IGNORECASE)
_THANKS_END = re.compile(
    r"[,.!\s]*(?:(?:em|tôi|toi|e|cháu|chau)\s+)?(?:xin\s+)?(?:cảm ơn|cám ơn|cam on)(?:\s+(?:nhiều|nhieu))?"
    r"(?:\s+(?:ạ|a))?[.!\s]*$", re.IGNORECASE)


def _shown(text: str) -> str:
    """The text without the greeting, "may I ask" and thanks around it (the whole text if nothing else is left)."""
    bare = _THANKS_END.sub("", _ASKING_START.sub("", _GREETING_START.sub("", text)))
    bare = bare.strip(" ,")
    if not bare or bare == text:
        return text
    return bare[0].upper() + bare[1:]
