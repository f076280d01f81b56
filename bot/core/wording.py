"""Households' words made comparable: accent- and case-free, greetings and particles gone, typing shortcuts spelled
out ("ko", "dc", "bn", "j", "BHYT"), and turned into the features (words and word pairs) that TF-IDF weighs.

Shared by the digest's grouping of similar questions and the form's topic suggestion; it knows neither.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache

from bot.core.text import fold

# Particles, greetings and pronouns, as typed with their accents. Dropped only in that form: without accents many
# are other, meaningful words ("nha" is house, "vay" is borrow, "da" can be "đã" or "da").
ACCENTED_FILLERS = frozenset({
    "ạ", "à", "ạk", "ợ", "nhé", "nha", "nhá", "nhen", "nghen", "nhỉ", "hả", "hở", "ơi", "vậy", "dạ", "vâng", "tôi",
})
# Folded words and phrases that are never meaningful here (greetings, politeness, pronouns, "of").
FILLER_PHRASES = (
    "xin chao", "chao can bo", "chao anh", "chao chi", "chao co", "chao chu", "chao", "alo", "kinh thua", "thua",
    "cho toi hoi", "cho em hoi", "cho chau hoi", "cho con hoi", "cho minh hoi", "cho tui hoi", "cho hoi",
    "xin hoi", "toi muon hoi", "em muon hoi", "muon hoi", "hoi chut", "hoi ti", "cho biet", "xin cho biet",
    "cam on nhieu", "xin cam on", "cam on", "lam on", "vui long", "giup em voi", "giup voi", "giup em",
    "toi", "tui", "em", "chau", "minh", "chung toi", "gia dinh", "cua",
)
# Typed shortcuts and abbreviations, spelled out.
SHORTCUTS = {
    "ko": "khong", "k": "khong", "kg": "khong", "kh": "khong", "hok": "khong", "hong": "khong", "khg": "khong",
    "dc": "duoc", "dk": "duoc", "đc": "duoc", "bn": "bao nhieu", "j": "gi", "e": "em", "khj": "khi", "bh": "bao gio",
    "ntn": "nhu the nao", "r": "roi", "vs": "voi", "ng": "nguoi", "nc": "nuoc", "tr": "trieu", "ak": "a",
    "bhyt": "bao hiem y te", "yte": "y te", "bhxh": "bao hiem xa hoi", "nhcsxh": "ngan hang chinh sach xa hoi",
    "xkld": "xuat khau lao dong", "ld": "lao dong", "tbxh": "thuong binh xa hoi", "ubnd": "uy ban nhan dan",
    "hs": "hoc sinh", "sv": "sinh vien", "%": "phan tram", "1": "mot",
}
# In a text typed without any accent: "a" is always "ạ"; "nha" and "vay" are particles at the end after these.
_PLAIN_TAIL_PARTICLES = {"nha": frozenset({"voi", "giup", "em", "nhe", "luon", "a", "di", "nhen"})}
_BORROW_BEFORE = frozenset({"muon", "xin", "can", "de", "cho", "ky", "di", "duoc", "dc", "co", "dang"})
_TOKEN = re.compile(r"\w+|%")


def phrases(words: Iterable[str]) -> re.Pattern[str]:
    """One pattern for whole words and phrases, longest first so "cho toi hoi" wins over "cho hoi"."""
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b")


_FILLER_RE = phrases(FILLER_PHRASES)


@cache
def _accent_table() -> dict[int, str]:
    """``bot.text.fold`` letter by letter, as a str.translate table: the same keys, many times faster (built on
    first use: importing this module must stay cheap, the bot's start-up time matters)."""
    letters = (chr(c) for c in range(0xC0, 0x1F00))
    return {ord(ch): fold(ch) for ch in letters if ch.isalpha() and fold(ch) != ch and len(fold(ch)) == 1}


@lru_cache(maxsize=65_536)  # staff of one scope, the report and the digest read the same texts again
def comparison_key(text: str) -> str:
    """What is compared: accent- and case-free, greetings, pronouns and particles gone, shortcuts spelled out.

    Question words stay: they say what kind of answer is wanted."""
    tokens = _TOKEN.findall(unicodedata.normalize("NFC", text).casefold())
    accented = any(not token.isascii() for token in tokens)
    if accented:
        tokens = [token for token in tokens if token not in ACCENTED_FILLERS]
    table = _accent_table()
    words: list[str] = []
    for token in tokens:
        words.extend(SHORTCUTS.get(token, token.translate(table)).split())
    if not accented:
        words = _plain_particles_dropped(words)
    return " ".join(_FILLER_RE.sub(" ", " ".join(words)).split())


def _plain_particles_dropped(words: list[str]) -> list[str]:
    """Particles in a text typed without accents: "a" anywhere; "nha", "vay" at the end when the word before
    says so ("giup em nha"; "het bao nhieu tien vay", but "muon vay", "co dc vay")."""
    words = [w for w in words if w != "a"]
    while len(words) > 1:
        last, before = words[-1], words[-2]
        if (last == "vay" and before not in _BORROW_BEFORE) or before in _PLAIN_TAIL_PARTICLES.get(last, ()):
            words.pop()
        else:
            break
    return words


def word_features(content: Sequence[str]) -> dict[str, float]:
    """Each word (weight 1) and each pair of adjacent words (weight 0.5): the terms TF-IDF weighs."""
    feats: dict[str, float] = {}
    for word in content:
        feats[word] = 1.0
    for first, second in itertools.pairwise(content):
        feats[f"{first} {second}"] = 0.5
    return feats
