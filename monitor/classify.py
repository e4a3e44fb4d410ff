"""The topic filter (first version): a story is on topic when both sides are named.

Each side is a list of terms; each term is a name and the regular expressions that find it in
English, Russian and Korean text. Matching uses Unicode case folding; Latin and Cyrillic terms need
word boundaries (Russian stems allow inflected endings: России, Россией, Пхеньяну); Korean terms
match inside words, because particles attach to them (북한은, 러시아의).

Classic traps are excluded on purpose: "Korea" alone (South Korea), "Kim" alone, "Russian doll".
Pure functions; no I/O. A later issue makes this classifier configurable and scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.models import Match, Verdict

B = r"(?<!\w)"          # start of a word; a hyphen is a boundary: "pro-Russian", "Russia-North Korea"
E = r"(?![\w])"         # end of a word
RU_END = r"\w*"         # a Russian inflected ending


@dataclass(frozen=True)
class Term:
    side: str
    name: str
    pattern: re.Pattern


def _terms(side: str, table: dict[str, list[str]]) -> list[Term]:
    return [Term(side, name, re.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE))
            for name, pats in table.items()]


RUSSIA = {
    "Russia": [B + r"russia(?:n|ns|'s)?" + E, B + r"росси" + RU_END, B + r"российск" + RU_END,
               B + r"рф" + E, "러시아", "로씨야", "로시아"],
    "Moscow": [B + r"moscow(?:'s)?" + E, B + r"москв" + RU_END, "모스크바", "모스크바의"],
    "Kremlin": [B + r"kremlin" + E, B + r"кремл" + RU_END, "크렘린"],
    "Putin": [B + r"putin(?:'s)?" + E, B + r"путин" + RU_END, "푸틴", "뿌찐"],
    "Lavrov": [B + r"lavrov" + E, B + r"лавров" + RU_END, "라브로프"],
    "Shoigu": [B + r"shoigu" + E, B + r"шойгу" + E, "쇼이구"],
    "Belousov": [B + r"belousov" + E, B + r"белоусов" + RU_END, "벨로우소프"],
    "Peskov": [B + r"peskov" + E, B + r"песков" + RU_END, "페스코프"],
    "Medvedev": [B + r"medvedev" + E, B + r"медведев" + RU_END, "메드베데프"],
    "Vladivostok": [B + r"vladivostok" + E, B + r"владивосток" + RU_END, "블라디보스토크"],
    "Primorye": [B + r"primor(?:ye|sky|skiy)" + E, B + r"примор" + RU_END, "연해주"],
    "Vostochny": [B + r"vostochny" + E, B + r"восточн(?:ый|ом) космодром" + RU_END, "보스토치니"],
    "Kursk": [B + r"kursk" + E, B + r"курск" + RU_END, "쿠르스크"],
    "TASS": [B + r"tass" + E, B + r"тасс" + E],  # not 타스: inside 판타스틱
}

NORTH_KOREA = {
    "North Korea": [B + r"north\s+korea(?:n|ns|'s)?" + E, B + r"n\.\s?korea(?:n|'s)?" + E,
                    B + r"северн" + RU_END + r"\s+коре" + RU_END, B + r"северокорейск" + RU_END,
                    "북한", "조선민주주의인민공화국"],
    "DPRK": [B + r"dprk(?:'s)?" + E, B + r"кндр" + E],
    "Pyongyang": [B + r"pyongyang(?:'s)?" + E, B + r"пхеньян" + RU_END, "평양"],
    "Kim Jong Un": [B + r"kim\s+jong[\s-]?un(?:'s)?" + E, B + r"ким\s+чен\s+ын" + RU_END, "김정은"],
    "Kim Yo Jong": [B + r"kim\s+yo[\s-]?jong" + E, B + r"ким\s+ё\s+чж?он" + RU_END, "김여정"],
    "Kim Jong Il": [B + r"kim\s+jong[\s-]?il" + E, B + r"ким\s+чен\s+ир" + RU_END, "김정일"],
    "Choe Son Hui": [B + r"cho[ei]\s+son[\s-]?hui" + E, B + r"цой\s+сон\s+хи" + E, "최선희"],
    "KCNA": [B + r"kcna" + E, B + r"ццтак" + E, "조선중앙통신"],
    "Korean People's Army": [B + r"korean\s+people'?s\s+army" + E, "조선인민군"],
    "Workers' Party of Korea": [B + r"workers'?\s+party\s+of\s+korea" + E, "조선노동당"],
    "Rason": [B + r"rason" + E, B + r"расон" + RU_END],  # not 나선: also "spiral", "steps forward"
    "Wonsan": [B + r"wonsan" + E, B + r"вонсан" + RU_END],  # not 원산: also "origin" (원산지)
    "Tumen River": [B + r"tumen\s+river" + E, B + r"туман(?:ная|ной)" + E, "두만강"],
}

# Both sides in one word: 북러 (North Korea–Russia), 조러 (DPRK–Russia, North Korean usage).
BOTH = {
    "북러": ["북러", "북[-·・]러", "조러", "조[-·・]로"],
}

# Phrases that contain a side's term but are not about it.
TRAPS = re.compile(
    B + r"russian\s+(?:doll|dolls|roulette|dressing|blue|tea\s+room|river)" + E
    + "|" + B + r"russia,?\s+(?:ohio|kentucky)" + E
    + "|" + B + r"moscow\s+mule" + E + "|" + B + r"moscow,?\s+(?:idaho|id)" + E,
    re.IGNORECASE,
)

TERMS: tuple[Term, ...] = tuple(_terms("a", RUSSIA) + _terms("b", NORTH_KOREA)
                                + _terms("ab", BOTH))
SIDE_NAMES = {"a": "Russia", "b": "North Korea"}


def find_terms(text: str, field: str) -> list[Match]:
    """Every term occurrence in `text`, with its side, field and position."""
    if not text:
        return []
    traps = [m.span() for m in TRAPS.finditer(text)]
    found: list[Match] = []
    for term in TERMS:
        for m in term.pattern.finditer(text):
            if any(s <= m.start() < e for s, e in traps):
                continue
            for side in term.side:
                found.append(Match(side=side, term=term.name, field=field,
                                   position=m.start(), surface=text[m.start():m.end()]))
    return found


def classify(fields: dict[str, str]) -> Verdict:
    """Decide on the given fields (e.g. title, summary, text): keep when both sides are named."""
    matches: list[Match] = []
    for field, text in fields.items():
        matches.extend(find_terms(text, field))
    sides = frozenset(m.side for m in matches)
    keep = {"a", "b"} <= sides
    if keep:
        reason = "names both sides"
    elif sides:
        missing = ({"a", "b"} - sides).pop()
        reason = f"names only one side (no {SIDE_NAMES[missing]} term)"
    else:
        reason = "names neither side"
    return Verdict(keep=keep, sides=sides, matches=tuple(matches), reason=reason)


def evidence(verdict: Verdict) -> list[dict]:
    """The matches as plain dicts (term, side, field, position), one per distinct term and field."""
    out, seen = [], set()
    for m in verdict.matches:
        key = (m.term, m.field, m.side)
        if key not in seen:
            seen.add(key)
            out.append({"term": m.term, "side": SIDE_NAMES.get(m.side, m.side), "field": m.field,
                        "position": m.position, "surface": m.surface})
    return out
