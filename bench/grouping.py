"""``python -m bench grouping``: how well similar household questions are merged, and how fast.

Quality on the labelled set ``tests/data/grouping_labelled.tsv`` (two questions share a label when one answer from
the agency answers both): pairwise precision, recall and F1 over pairs of questions, and the adjusted Rand index.
Speed: grouping 1,000 and 10,000 questions made from the labelled set by a seeded generator (accents dropped,
greetings added, neighbouring words swapped, typos). The old algorithm (``baseline`` below, the grouping before
issue 12) runs on the same data in the same run. Goals: precision ≥ 0.9, F1 ≥ 0.7, 10,000 questions ≤ 5 s.
"""

from __future__ import annotations

import argparse
import random
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from bot.core.text import fold
from bot.digest import grouping
from bot.digest.grouping import Group, Item

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "grouping_labelled.tsv"
SEED = 12
GREETINGS = ("Chào cán bộ, ", "cho e hỏi ", "xin hoi ", "Dạ, cho em hỏi ", "alo cho hỏi ", "cho toi hoi ")
THANKS = (" ạ", " em cảm ơn", " a", " cam on nhieu", "", " vậy")
Grouper = Callable[[Sequence[Item]], list[Group]]


def load_labelled(path: Path = LABELLED) -> list[tuple[str, str, str]]:
    """(topic id, group label, text) of each question of the labelled set."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and not line.startswith("topic\t"):
            topic, label, text = line.split("\t")
            rows.append((topic, label, text))
    return rows


def as_items(rows: Sequence[tuple[str, str, str]]) -> list[Item]:
    return [Item(n, text, f"Hộ {n}", None, "f", topic, "question", "new", None)
            for n, (topic, _, text) in enumerate(rows)]


def variant(text: str, rng: random.Random) -> str:
    """The same question as another household might type it: one or more of the usual changes."""
    if rng.random() < 0.5:
        text = fold(text)
    if rng.random() < 0.4:
        text = rng.choice(GREETINGS) + text[:1].lower() + text[1:]
    if rng.random() < 0.4:
        text = text.rstrip("?.! ") + rng.choice(THANKS)
    words = text.split()
    if rng.random() < 0.3 and len(words) > 3:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    if rng.random() < 0.3:
        long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        if long:
            i = rng.choice(long)
            j = rng.randrange(1, len(words[i]) - 1)
            word = words[i]
            words[i] = rng.choice((word[:j] + word[j + 1:], word[:j] + word[j] + word[j:],
                                   word[:j - 1] + word[j] + word[j - 1] + word[j + 1:]))
    return " ".join(words)


def generated(rows: Sequence[tuple[str, str, str]], count: int, seed: int = SEED) -> list[tuple[str, str, str]]:
    """``count`` questions: the labelled set's, then seeded variants of them (same topic, same label)."""
    rng = random.Random(seed)
    out = list(rows[:count])
    while len(out) < count:
        topic, label, text = rng.choice(rows)
        out.append((topic, label, variant(text, rng)))
    return out


def pair_scores(truth: Sequence[str], found: Sequence[int]) -> dict[str, float]:
    """Pairwise precision, recall, F1 (a pair is "together" in both, one or neither) and the adjusted Rand index."""
    n = len(truth)
    joint = Counter(zip(truth, found, strict=True))
    together = sum(c * (c - 1) // 2 for c in joint.values())
    truth_pairs = sum(c * (c - 1) // 2 for c in Counter(truth).values())
    found_pairs = sum(c * (c - 1) // 2 for c in Counter(found).values())
    precision = together / found_pairs if found_pairs else 1.0
    recall = together / truth_pairs if truth_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    all_pairs = n * (n - 1) // 2
    expected = truth_pairs * found_pairs / all_pairs if all_pairs else 0.0
    top = (truth_pairs + found_pairs) / 2
    ari = (together - expected) / (top - expected) if top != expected else 1.0
    return {"precision": precision, "recall": recall, "f1": f1, "ari": ari}


def score(grouper: Grouper, rows: Sequence[tuple[str, str, str]]) -> dict[str, float]:
    items = as_items(rows)
    found = [0] * len(items)
    for number, group in enumerate(grouper(items)):
        for item in group.items:
            found[item.submission_id] = number
    return pair_scores([f"{topic}/{label}" for topic, label, _ in rows], found)


def timed(grouper: Grouper, rows: Sequence[tuple[str, str, str]]) -> float:
    items = as_items(rows)
    started = time.perf_counter()
    grouper(items)
    return time.perf_counter() - started


def figures(grouper: Grouper, rows: list[tuple[str, str, str]], sizes: Sequence[int]) -> dict[str, float]:
    result = score(grouper, rows)
    for size in sizes:
        result[f"seconds_{size}"] = timed(grouper, generated(rows, size))
    return result


def bench_grouping(args: argparse.Namespace) -> dict[str, Any]:
    rows = load_labelled()
    sizes = (1000, 10000)
    new = figures(grouping.group_similar, rows, sizes)
    old = figures(baseline, rows, sizes)
    result: dict[str, Any] = {"questions": len(rows), "labels": len({(t, lb) for t, lb, _ in rows}), **new}
    result["baseline"] = old
    result["ratios"] = {key: (new[key] / old[key] if old[key] else None) for key in new}
    result["work_done"] = result["questions"] >= 250
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser   # no options: the data set and sizes are fixed so runs compare


def report(result: dict[str, Any]) -> str:
    old, ratios = result["baseline"], result["ratios"]
    lines = [f"grouping: {result['questions']} labelled questions in {result['labels']} groups",
             f"{'':16}{'new':>10}{'baseline':>10}{'ratio':>8}"]
    for key in ("precision", "recall", "f1", "ari", "seconds_1000", "seconds_10000"):
        ratio = ratios[key]
        lines.append(f"{key:16}{result[key]:>10.3f}{old[key]:>10.3f}{'' if ratio is None else f'{ratio:>8.2f}'}")
    lines.append("goals: precision ≥ 0.9, F1 ≥ 0.7, 10,000 questions ≤ 5 s")
    return "\n".join(lines)


# --- baseline: bot.digest.grouping before issue 12 (fillers include the question words; token_set_ratio ≥ 80,
# greedy leader clustering), copied unchanged but for its names ------------------------------------------------------

# Words that carry no meaning of their own here: politeness, pronouns, function and question words ("khi nào" and
# "bao giờ" ask the same thing). Matched with their accents, because without them many are other, meaningful words:
# "vậy" (so) is not "vay" (borrow), "nha" (particle) is not "nhà" (house), "dạ" is not "dạy" (teach).
_OLD_FILLERS = (
    "xin hỏi", "cho tôi hỏi", "cho em hỏi", "cho cháu hỏi", "cho con hỏi", "cho hỏi", "tôi muốn hỏi", "em muốn hỏi",
    "muốn hỏi", "xin cho biết", "cho tôi biết", "cho biết", "xin cảm ơn", "cảm ơn", "kính thưa", "thưa", "xin",
    "vui lòng", "làm ơn", "ạ", "à", "vậy", "nhé", "nha", "ơi", "nhỉ", "dạ", "vâng",
    "tôi", "mình", "nhà tôi", "gia đình tôi", "gia đình", "hộ tôi", "chúng tôi",
    "được", "có", "không", "chưa", "của", "cho", "thì", "là", "mà", "và", "rồi", "này", "đó", "sẽ", "đã", "đang",
    "bị", "về", "việc", "những", "các", "một", "như", "nào", "gì", "sao", "bao giờ", "khi nào", "lúc nào",
    "tại sao", "vì sao", "làm sao", "thế nào", "ra sao", "ở đâu", "bao nhiêu", "mới", "nữa", "vẫn", "còn",
)
# The same, typed without accents: only those that cannot be mistaken for another word.
_PLAIN_OLD_FILLERS = (
    "xin hoi", "cho toi hoi", "cho em hoi", "cho hoi", "toi muon hoi", "muon hoi", "cho biet", "cam on",
    "kinh thua", "toi", "nha toi", "gia dinh", "duoc", "khong", "chua", "cua", "nhung", "bao gio", "khi nao",
    "luc nao", "tai sao", "vi sao", "lam sao", "the nao", "o dau", "bao nhieu",
)


def _old_words(words: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for whole words and phrases, longest first so "cho tôi hỏi" wins over "cho"."""
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b")


_OLD_FILLER_RE = _old_words(_OLD_FILLERS + _PLAIN_OLD_FILLERS)
_PLAIN_OLD_FILLER_RE = _old_words(_PLAIN_OLD_FILLERS)
# Abbreviations households write, spelled out so "thẻ BHYT" meets "thẻ bảo hiểm y tế".
_OLD_ABBREVIATIONS = {
    "bhyt": "bao hiem y te", "bhxh": "bao hiem xa hoi", "nhcsxh": "ngan hang chinh sach xa hoi",
    "xkld": "xuat khau lao dong", "ld": "lao dong", "tbxh": "thuong binh xa hoi", "ubnd": "uy ban nhan dan",
    "hs": "hoc sinh", "sv": "sinh vien", "ko": "khong", "k": "khong", "dc": "duoc",
}
_OLD_ABBREVIATION_RE = _old_words(tuple(_OLD_ABBREVIATIONS))
_OLD_BATCH = 512


@cache
def _old_accent_table() -> dict[int, str]:
    """``bot.text.fold`` letter by letter, as a str.translate table: the same keys, many times faster (built on
    first use: importing this module must stay cheap, the bot's start-up time matters)."""
    letters = (chr(c) for c in range(0xC0, 0x1F00))
    return {ord(ch): fold(ch) for ch in letters if ch.isalpha() and fold(ch) != ch and len(fold(ch)) == 1}


_OLD_NOT_WORD = re.compile(r"[^\w\s]")


def _old_key(text: str) -> str:
    """What is compared: fillers and punctuation gone, accent- and case-free, abbreviations spelled out."""
    spoken = _OLD_FILLER_RE.sub(" ", _OLD_NOT_WORD.sub(" ", unicodedata.normalize("NFC", text).casefold()))
    key = _OLD_ABBREVIATION_RE.sub(lambda m: _OLD_ABBREVIATIONS[m.group(0)], spoken.translate(_old_accent_table()))
    return " ".join(_PLAIN_OLD_FILLER_RE.sub(" ", key).split())


def baseline(items: Sequence[Item], threshold: int = 80) -> list[Group]:
    """The grouping before issue 12, kept to compare: per topic; largest group first, then in the order first seen.

    Entries without words (a voice message, a photo) stay alone: nothing says they ask the same thing.
    """
    keys = [_old_key(item.text) for item in items]
    by_topic: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_topic.setdefault(item.topic_id, []).append(index)
    clusters: list[list[int]] = []
    for indexes in by_topic.values():
        clusters.extend(_old_cluster_topic(keys, indexes, threshold))
    clusters.sort(key=lambda members: (-len(members), members[0]))
    return [Group([items[i] for i in members], _old_representative(items, keys, members)) for members in clusters]


def _old_cluster_topic(all_keys: list[str], indexes: list[int], threshold: int) -> list[list[int]]:
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
    for key, leader in zip(keys, _old_leaders(keys, threshold), strict=True):
        clusters.setdefault(keys[leader], []).extend(by_key[key])
    return [sorted(members) for members in clusters.values()] + alone


def _old_leaders(keys: list[str], threshold: int) -> list[int]:
    """For each key (in order) the index of the key leading its group — the sequential greedy outcome.

    Each batch is scored against the leaders known before it in one parallel ``cdist``; only the leaders born
    inside the batch are tried one by one. On a tie the older leader wins, as in the sequential loop.
    """
    import numpy as np
    from rapidfuzz import fuzz, process

    leaders: list[int] = []
    result: list[int] = []
    for start in range(0, len(keys), _OLD_BATCH):
        batch = keys[start:start + _OLD_BATCH]
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


def _old_representative(items: Sequence[Item], keys: list[str], members: list[int]) -> str:
    """The wording most households used (first seen on a tie)."""
    counts = Counter(keys[i] for i in members)
    best = max(counts.values())
    return next(items[i].text for i in members if counts[keys[i]] == best)
