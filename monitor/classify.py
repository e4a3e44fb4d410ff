"""The topic filter: is this story about the topic? A score with its evidence.

A topic has one or two sides; each side is a set of named terms, and each term is a list of
spellings in English, Russian and Korean (the default topic is Russia–North Korea; a user defines
another in config.yaml). Spellings are plain text, compiled here:

    Russia            a whole word, case-folded ("russia", "RUSSIA"); an English possessive
                      ('s) is allowed; a space matches any run of spaces or hyphens
                      ("Kim Jong Un" finds "Kim Jong-un")
    Росси*            * is any word ending: России, Россией, Российская (on any word of a
                      phrase: "Северн* Коре*" finds Северной Кореи)
    북한              Korean (Hangul) matches inside words, because particles attach (북한은, 북한의)
    re:<regex>        a regular expression, for what the above cannot say

Exclusions are phrases that contain a term but are not about it ("Russian doll", "Moscow,
Idaho"); a term inside one does not count. "Korea" alone is not a term; "Kim" alone is one only
under its context conditions (beside Russia's leaders; no other Kim named in full).

The score (readable on purpose):
    each side's weight = sum over its matches of the field weight (title 3, summary 2, text 1),
                         a term counted at most twice per field, the body adding at most 2;
                         a match inside a list (below) weighs 1
    closeness bonus    = both sides in the title: +4; in one sentence: +3; in one paragraph
                         (or split between title and summary): +2; only inside lists: +1;
                         else 0. A list is a sentence that lists other countries too ("Iran,
                         Russia and North Korea"), or ranks them ("러시아 48위·북한 95위"); in a
                         story whose title is a list, a ranking or a round-up ("Главное к утру",
                         "medal table"), every sentence is one (see _list_spans)
    score              = the weaker side's weight + the closeness bonus
    keep               when every side is named, score >= KEEP_SCORE and the sides meet outside
                       lists (one-sided topic: its weight >= KEEP_SCORE_ONE_SIDE)
A passing mention of both sides in different paragraphs of a long story scores 1 or 2: rejected.
Terms may carry conditions on the whole story (topic.context, Term.when / Term.unless).

Pure functions; no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from typing import Iterable

from monitor.models import Match, Verdict

FIELD_WEIGHT = {"title": 3, "summary": 2, "text": 1}
PER_TERM_FIELD = 2          # a term counts at most this many times per field
TEXT_CAP = 2                # the body alone adds at most this much to a side's weight: many
#                             scattered mentions in a long story are not the story's subject
CLOSE_BONUS = {"title": 4, "sentence": 3, "paragraph": 2, "list": 1}
# A sentence that names both sides among two or more other countries is a list ("sanctions on
# Iran, Russia, North Korea and China"), not a story about the two: it counts as "list".
OTHER_COUNTRIES = re.compile(
    r"(?<!\w)(?:china|chinese|beijing|iran|iranian|tehran|syria|venezuela|cuba|belarus|"
    r"united states|u\.s\.|america|washington|japan|india|pakistan|israel|turkey|"
    r"кита\w*|иран\w*|сири\w*|венесуэл\w*|куб\w*|белорус\w*|сша|япони\w*)(?!\w)"
    r"|중국|이란|시리아|베네수엘라|쿠바|벨라루스|미국|일본", re.IGNORECASE)
KEEP_SCORE = 4
KEEP_SCORE_ONE_SIDE = 3     # a one-sided topic: named in the title, or several times in the text

HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
SENTENCE_RE = re.compile(r"(?<=[.!?。…])[\"'”’»)]*\s+|\n+")


@dataclass(frozen=True)
class Term:
    side: str           # "a", "b", or "ab" (a term that names both sides, e.g. 북러)
    name: str
    pattern: re.Pattern
    # A cheap test that `pattern` cannot match, so that `find_terms` runs the (slow,
    # case-insensitive) pattern only where it might: the case-folded start of each plain
    # spelling, and the `re:` spellings on their own. Most texts name no term at all.
    needles: tuple[str, ...] = ()
    regex_part: re.Pattern | None = None
    # Conditions on the whole story (topic.context): the term counts only when the story also
    # names one of `when` ("the North" only beside Seoul, South Korea...), and never when it
    # names one of `unless` ("김정은" not in a story about the actress 배우 김정은)
    when: re.Pattern | None = None
    unless: re.Pattern | None = None

    def counts_in(self, story: str) -> bool:
        return ((self.when is None or bool(self.when.search(story)))
                and (self.unless is None or not self.unless.search(story)))

    def may_occur(self, text: str, folded: str) -> bool:
        return (any(n in folded for n in self.needles)
                or bool(self.regex_part and self.regex_part.search(text)))


@dataclass(frozen=True)
class Topic:
    name: str
    side_names: tuple[str, ...]        # one or two sides, e.g. ("Russia", "North Korea")
    terms: tuple[Term, ...]
    exclude: re.Pattern | None = None
    spec: dict = field(default_factory=dict, compare=False)   # the definition it was built from

    @property
    def sides(self) -> frozenset[str]:
        return frozenset("ab"[:len(self.side_names)])

    @functools.cached_property
    def _gate(self) -> tuple[tuple[tuple[str, ...], ...], re.Pattern | None]:
        """Every term's needles (by script: other, Cyrillic, Hangul/CJK) and `re:` spellings
        together, derived from `terms` once per topic (see may_name)."""
        regexes = [t.regex_part.pattern for t in self.terms if t.regex_part is not None]
        return (_by_script(n for t in self.terms for n in t.needles),
                _any_of(regexes) if regexes else None)

    @functools.cached_property
    def conditional(self) -> frozenset[str]:
        """Names of the terms with a context condition (Term.when / Term.unless)."""
        return frozenset(t.name for t in self.terms if t.when is not None or t.unless is not None)

    def may_name(self, text: str, folded: str) -> bool:
        """False when no term of the topic can occur in `text` (`folded` is its casefold()): one
        cheap test before the per-term ones, and the answer for nine feed entries in ten."""
        (latin, cyrillic, cjk), regex = self._gate
        return (any(n in folded for n in latin)
                or bool(cyrillic and CYRILLIC.search(text) and any(n in folded for n in cyrillic))
                or bool(cjk and CJK.search(text) and any(n in folded for n in cjk))
                or bool(regex and regex.search(text)))


# -- compiling spellings ---------------------------------------------------------------------

B = r"(?<!\w)"          # start of a word; a hyphen is a boundary: "pro-Russian", "Russia-North Korea"
E = r"(?!\w)"           # end of a word


def compile_spelling(spelling: str) -> str:
    """One spelling (see the module docstring) → a regular expression source. ValueError if bad."""
    s = spelling.strip()
    if not s:
        raise ValueError("an empty spelling")
    if s.startswith("re:"):
        source = s[3:]
        try:
            re.compile(source)
        except re.error as e:
            raise ValueError(f"{spelling!r} is not a valid regular expression: {e}") from None
        return source
    if HANGUL.search(s):
        return re.escape(s).replace(r"\ ", r"[\s\-·]*")
    words = s.split()
    if not any(w.strip("*") for w in words):
        raise ValueError(f"{spelling!r} has no letters")
    # each word may end in * (any ending): "Северн* Коре*" finds Северной Кореи, Северная Корея
    body = r"[\s\-]+".join(re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "")
                            for w in words)
    if s.endswith("*"):
        return B + body
    possessive = r"(?:['’]s)?" if s.isascii() and not s.endswith("'s") else ""
    return B + body + possessive + E


CONDITIONS = ("if", "unless")


def build_topic(name: str, sides: dict[str, dict[str, list[str]]],
                both: dict[str, list[str]] | None = None,
                exclude: Iterable[str] = (),
                context: dict[str, dict[str, list[str]]] | None = None) -> Topic:
    """A Topic from its definition (as in config.yaml). ValueError naming the bad part."""
    if not 1 <= len(sides) <= 2:
        raise ValueError("a topic has one or two sides")
    if both and len(sides) != 2:
        raise ValueError("'both' terms need two sides")
    terms: list[Term] = []
    for code, (side_name, table) in zip("ab", sides.items()):
        for term_name, spellings in table.items():
            terms.append(_term(code, term_name, spellings, f"{side_name}.{term_name}"))
    for term_name, spellings in (both or {}).items():
        terms.append(_term("ab", term_name, spellings, f"both.{term_name}"))
    context = context or {}
    unknown = sorted(set(context) - {t.name for t in terms})
    if unknown:
        raise ValueError(f"context: {', '.join(map(repr, unknown))} is not a term of the topic")
    for term_name, cond in context.items():
        bad = sorted(set(cond) - set(CONDITIONS))
        if bad or not cond:
            raise ValueError(f"context.{term_name}: give 'if' and/or 'unless' (a list of "
                             f"spellings), not {', '.join(map(repr, bad)) or 'nothing'}")
        when, unless = (_pattern(cond.get(k), f"context.{term_name}.{k}") for k in CONDITIONS)
        terms = [dataclasses.replace(t, when=when, unless=unless) if t.name == term_name else t
                 for t in terms]
    excl = [compile_spelling(x) for x in exclude]
    return Topic(name=name, side_names=tuple(sides), terms=tuple(terms),
                 exclude=_any_of(excl) if excl else None,
                 spec={"name": name, "sides": sides, "both": both or {}, "exclude": list(exclude),
                       "context": context})


CYRILLIC = re.compile(r"[\u0400-\u052f]")
CJK = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3\u3400-\u9fff\uf900-\ufaff]")


def _by_script(needles: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Needles in three groups: those with Cyrillic letters, with Hangul or CJK characters, and
    the rest; a text without Cyrillic (or CJK) cannot contain the second (or third) group."""
    groups: tuple[dict, dict, dict] = ({}, {}, {})
    for n in needles:
        groups[1 if CYRILLIC.search(n) else 2 if CJK.search(n) else 0][n] = None
    return tuple(groups[0]), tuple(groups[1]), tuple(groups[2])


def _sources(spellings: list[str], where: str) -> list[str]:
    """Each spelling's regular expression; ValueError naming `where` if one is bad or none."""
    if not spellings:
        raise ValueError(f"{where}: no spellings")
    try:
        return [compile_spelling(s) for s in spellings]
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def _any_of(sources: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{s})" for s in sources), re.IGNORECASE)


def _pattern(spellings: list[str] | None, where: str) -> re.Pattern | None:
    return None if spellings is None else _any_of(_sources(spellings, where))


def _term(side: str, name: str, spellings: list[str], where: str) -> Term:
    sources = _sources(spellings, where)
    needles, regexes = [], []
    for spelling, source in zip(spellings, sources):
        # A match of a plain spelling's pattern (re.IGNORECASE) contains each of its words (up
        # to a *) in some case, so the case-folded text contains the longest of them.
        stem = max((w.rstrip("*") for w in spelling.split()), key=len, default="")
        if spelling.strip().startswith("re:") or not stem:
            regexes.append(source)
        else:
            needles.append(stem.casefold())
    return Term(side, name, _any_of(sources), tuple(dict.fromkeys(needles)),
                _any_of(regexes) if regexes else None)


# -- the default topic: Russia–North Korea -----------------------------------------------------

DEFAULT_NAME = "Russia–North Korea"
DEFAULT_SIDES: dict[str, dict[str, list[str]]] = {
    "Russia": {
        "Russia": ["Russia", "Russian", "Russians", "Росси*", "Российск*", "РФ", "россиян*",
                   "русск*", "러시아", "로씨야", "로시아", "노서아",
                   # 러 alone, as Korean headlines abbreviate it (러, 北에 ...); not inside a word
                   # (러시아워 "rush hour", 에러 "error")
                   "re:(?<![가-힣])러(?:와의|와는|와도|에서|에게|에는|로의|[는가의와에도로만]|엔)?(?![가-힣])"],
        "Moscow": ["Moscow", "Москв*", "모스크바"],
        "Kremlin": ["Kremlin", "Кремл*", "크렘린"],
        "Putin": ["Putin", "Путин*", "푸틴", "뿌찐"],
        "Lavrov": ["Lavrov", "Лавров*", "라브로프"],
        "Shoigu": ["Shoigu", "Шойгу", "쇼이구"],
        "Belousov": ["Belousov", "Белоусов*", "벨로우소프"],
        "Peskov": ["Peskov", "Песков*", "페스코프"],
        "Medvedev": ["Medvedev", "Медведев*", "메드베데프"],
        "Kozlov": ["Alexander Kozlov", "Александр* Козлов*", "Козлов* Александр*", "코즐로프"],
        "Vladivostok": ["Vladivostok", "Владивосток*", "블라디보스토크"],
        "Primorye": ["Primorye", "Primorsky", "Primorskiy", "Приморь*", "Приморск*", "연해주"],
        "Khabarovsk": ["Khabarovsk", "Хабаровск*", "하바롭스크"],
        "Vostochny": ["Vostochny", "Восточн* космодром*", "космодром* Восточный",
                      "порт* Восточный", "보스토치니"],
        "Kursk": ["Kursk", "Курск*", "쿠르스크"],
        # Russia's war: North Korean troops and arms in it are this topic's main story
        "Ukraine war": ["Ukraine", "Ukrainian", "Ukrainians", "Украин*", "우크라이나",
                        "Donbas", "Donbass", "Donetsk", "Luhansk", "Донбасс*", "Донецк*",
                        "Луганск*", "돈바스", "도네츠크", "루한스크"],
        "Siberia": ["Siberia", "Siberian", "Сибир*", "시베리아"],
        "Tatarstan": ["Tatarstan", "Alabuga", "Татарстан*", "Алабуг*", "타타르스탄"],
        "Khasan": ["Khasan", "Хасан*"],          # not 하산: "coming down a mountain"
        "TASS": ["TASS", "ТАСС"],
        "State Duma": ["State Duma", "Duma", "Госдум*", "Государственн* Дум*", "Federation Council",
                       "Совет* Федерации", "Совфед*", "국가두마"],
    },
    "North Korea": {
        "North Korea": ["North Korea", "North Korean", "North Koreans", "N. Korea", "N.Korea", "NK",
                        "N. Korean", "Северн* Коре*", "Северокорейск*",
                        "Корейск* Народно-Демократическ* Республик*", "북한",
                        "조선민주주의인민공화국",
                        # 北 and 북 alone, as Korean headlines abbreviate it (北·러, 북, 러에 ...)
                        "re:(?<![東东西])北(?!京|美|海|部|東|东|西)",
                        "re:(?<![가-힣])북(?:과의|과는|과도|에서|에게|에는|에도|으로|[은이의과에도만]|엔)?(?![가-힣])",
                        # 북측 "the North('s side)", as South Korean reports say; not 동북측
                        "re:(?<![가-힣])북측"],
        # "(the) North" in a story set in Korea (see DEFAULT_CONTEXT): capital N, and not
        # followed by a name (the North Sea, North Gyeongsang) or "of"
        "the North": ["re:(?-i:\\b(?:[Tt]he\\s+)?North\\b(?!\\s+(?:of\\b|[A-Z])|-))(?:['’]s)?"],
        # "Kim" alone in a headline ("Putin sends greetings to Kim"), beside Russia's leaders
        # and when no other Kim is named in full (see DEFAULT_CONTEXT): not "Kim Kardashian"
        "Kim": ["re:(?-i:\\bKim\\b(?![\\s\\-]+(?:Jong|Yo|Il)\\b))(?:['’]s)?"],
        "DPRK": ["DPRK", "КНДР"],
        "Pyongyang": ["Pyongyang", "Пхеньян*", "평양"],
        "Kim Jong Un": ["Kim Jong Un", "Kim Jong-un", "Kim Jongun", "Ким Чен Ын*", "김정은"],
        "Kim Yo Jong": ["Kim Yo Jong", "Ким Ё Чжон*", "Ким Ё Чен*", "Ким Е Чжон*", "김여정"],
        "Kim Jong Il": ["Kim Jong Il", "Ким Чен Ир*", "김정일"],
        "Choe Son Hui": ["Choe Son Hui", "Choi Son Hui", "Цой Сон Хи", "Чхве Сон Хи", "최선희"],
        "No Kwang Chol": ["No Kwang Chol", "Но Гван Чхоль", "노광철"],
        "Pak Jong Chon": ["Pak Jong Chon", "Пак Чжон Чхон*", "박정천"],
        "KCNA": ["KCNA", "ЦТАК", "조선중앙통신"],
        "Korean People's Army": ["Korean People's Army", "Korean Peoples Army", "KPA",
                                 "Корейск* народн* арми*", "조선인민군", "Storm Corps",
                                 "폭풍군단"],
        "Workers' Party of Korea": ["Workers' Party of Korea", "Workers Party of Korea",
                                    "Трудов* парти* Коре*", "조선노동당"],
        # not 나선 alone: also "spiral"
        "Rason": ["Rason", "Rajin", "Najin", "Расон*", "Раджин*", "라선", "나선시", "나선특구",
                  "나선경제", "나진항", "라진항", "나진-하산", "라진-하산"],
        "Wonsan": ["Wonsan", "Вонсан*", "원산시", "원산갈마"],   # not 원산 alone: 원산지 "origin"
        "Tumen River": ["Tumen River", "Tumangang", "Туманн* реки", "Туманн* река",
                        "Туманн* реке", "Туманган*", "두만강"],
        "Panmunjom": ["Panmunjom", "Пханмунджом*", "판문점"],
    },
}
DEFAULT_BOTH: dict[str, list[str]] = {
    # both sides in one word: 북러 (North Korea–Russia), 조러 / 조로 (DPRK–Russia, North Korean usage)
    "북러": ["북러", "북-러", "북·러", "조러", "조-러", "조·로", "러북", "러-북"],
}
DEFAULT_EXCLUDE: list[str] = [
    "Russian doll*", "Russian roulette", "Russian dressing", "Russian blue", "Russian Tea Room",
    "Russian River", "Russia, Ohio", "Russia Ohio", "Russia, Kentucky", "Moscow mule*",
    "Moscow, Idaho", "Moscow Idaho", "Moscow, ID", "Kursk submarine", "Russian Hill",
    "русск* рулетк*", "русск* матрёшк*", "русск* матрешк*",
    # Korean words that contain a term: a mountain and a river near Seoul, cold noodles, rush hour
    "북한산", "북한강", "평양냉면", "평양 냉면", "러시아워", "배우 김정은",
]


# Terms that count only in some stories: the term, and what the story must (if) or must not
# (unless) also name, anywhere in it
DEFAULT_CONTEXT: dict[str, dict[str, list[str]]] = {
    "the North": {"if": ["Seoul", "South Korea", "South Korean", "South Koreans", "inter-Korean",
                         "Korean Peninsula", "DMZ", "Yonhap", "Pyongyang", "North Korea",
                         "North Korean", "North Koreans"]},
    # "Kim" alone is Kim Jong Un only beside Russia's leaders ("Putin and Kim"), and never
    # in a story that names another Kim in full or is about South Korea
    "Kim": {"if": ["Putin", "Путин*", "Kremlin", "Lavrov", "Shoigu", "Belousov", "Peskov",
                   "Medvedev"],
            "unless": ["re:(?-i:\\bKim[\\s\\-]+(?!(?:Jong-un|Yo-jong|Jong-il|Il-sung)\\b)"
                       "[A-Z][a-z]+-[a-z]+)", "Kardashian",
                       "South Korea", "South Korean", "South Korea's"]},
    "Kim Jong Un": {"unless": ["배우 김정은", "김정은 배우", "탤런트 김정은", "방송인 김정은",
                               "actress Kim Jung-eun"]},
    "Moscow": {"unless": ["Idaho"]},
}


def default_topic() -> Topic:
    return build_topic(DEFAULT_NAME, DEFAULT_SIDES, DEFAULT_BOTH, DEFAULT_EXCLUDE,
                       DEFAULT_CONTEXT)


@functools.cache
def _default() -> Topic:
    return default_topic()


def __getattr__(name: str):
    # DEFAULT_TOPIC is compiled on first use, not at import: a poll scores with the topic of its
    # config, and compiling the default's patterns costs about 70 ms in every process started
    if name == "DEFAULT_TOPIC":
        return _default()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- finding terms ----------------------------------------------------------------------------


def find_terms(text: str, field: str, topic: Topic | None = None) -> list[Match]:
    """Every term occurrence in `text`, with its side, field and position (the default topic
    when `topic` is None)."""
    if not text:
        return []
    topic = topic or _default()
    folded = text.casefold()
    if not topic.may_name(text, folded):
        return []
    terms = [t for t in topic.terms if t.may_occur(text, folded)]
    if not terms:
        return []
    excluded = [m.span() for m in topic.exclude.finditer(text)] if topic.exclude else []
    found: list[Match] = []
    for term in terms:
        for m in term.pattern.finditer(text):
            if m.end() == m.start() or any(s <= m.start() < e for s, e in excluded):
                continue
            for side in term.side:
                found.append(Match(side=side, term=term.name, field=field,
                                   position=m.start(), surface=text[m.start():m.end()]))
    return found


def sides_named(text: str, topic: Topic, wanted: frozenset[str]) -> frozenset[str]:
    """Which of the `wanted` sides some term of `topic` names in `text` (exclusions ignored):
    what `find_terms` would say of the sides, but it stops at the first occurrence of each term
    and once every wanted side is found, and builds no matches."""
    folded = text.casefold()
    found: set[str] = set()
    for term in topic.terms:
        if set(term.side) & wanted - found and term.may_occur(text, folded):
            m = next((m for m in term.pattern.finditer(text) if m.end() > m.start()), None)
            if m:
                found.update(term.side)
                if wanted <= found:
                    break
    return frozenset(found & wanted)


def _units(text: str, field: str) -> list[tuple[int, int, int]]:
    """(start, end, paragraph number) of each sentence of a field. The title is one unit."""
    if field == "title":
        return [(0, len(text), 0)]
    units, para, start = [], 0, 0
    for m in SENTENCE_RE.finditer(text):
        units.append((start, m.start(), para))
        if "\n" in m.group():
            para += 1
        start = m.end()
    units.append((start, len(text), para))
    return units


def closeness(matches: list[Match], fields: dict[str, str], sides: frozenset[str],
              lists: list[tuple[str, int, int]] = ()) -> str | None:
    """How close the sides come: "title", "sentence", "paragraph", "list" (they meet only in
    sentences that are lists, see _list_spans), or None."""
    if len(sides) < 2:
        return None
    listed = set(lists)
    rank = {"title": 4, "sentence": 3, "paragraph": 2, "list": 1}
    by_field: dict[str, list[Match]] = {}
    for m in matches:
        by_field.setdefault(m.field, []).append(m)
    best = None
    outside: dict[str, set[str]] = {}      # per field, the sides named outside lists
    for f, ms in by_field.items():
        units = _units(fields.get(f) or "", f)
        in_sentence: dict[int, set[str]] = {}
        in_para: dict[int, set[str]] = {}          # outside lists
        in_para_all: dict[int, set[str]] = {}
        for m in ms:
            for i, (s, e, p) in enumerate(units):
                if s <= m.position < e or (i == len(units) - 1 and m.position >= s):
                    in_sentence.setdefault(i, set()).add(m.side)
                    in_para_all.setdefault(p, set()).add(m.side)
                    if (f, s, e) not in listed:
                        in_para.setdefault(p, set()).add(m.side)
                        outside.setdefault(f, set()).add(m.side)
                    break
        level = None
        together = [i for i, v in in_sentence.items() if v >= sides]
        real = [i for i in together if (f, units[i][0], units[i][1]) not in listed]
        if real:
            level = "title" if f == "title" else "sentence"
        elif any(v >= sides for v in in_para.values()):
            level = "paragraph"
        elif any(v >= sides for v in in_para_all.values()):
            level = "list"
        if level and (best is None or rank[level] > rank[best]):
            best = level
    if best in (None, "list"):   # one side in the title, the other in the summary: one short item
        title, summary = outside.get("title", set()), outside.get("summary", set())
        if title and summary and title | summary >= sides:
            best = "paragraph"
    return best


def _list_spans(fields: dict[str, str], matches: list[Match]) -> list[tuple[str, int, int]]:
    """Sentences that are lists: a term inside one weighs 1, wherever it is (a headline "hackers
    from Russia, China, Iran and North Korea" is not about the two). A list is a sentence that
    names two or more other countries (not the topic's own terms); or one that enumerates three or
    more names, another country among them, with nothing but commas and "and"/"or" between them
    ("Iran, Russia and North Korea"; "КНДР, России, Китая и других"); or a ranking (two or more
    ranks: "러시아 48위·북한 95위", "171-е место ..., КНДР — 179-е").
    A story whose title is a list, a ranking or a round-up ("Your Thursday Briefing", "Главное к
    утру", "[오늘의 주요뉴스]", "medal table") is a list throughout: every sentence of it is one."""
    title = fields.get("title") or ""
    out = []
    for f, text in fields.items():
        if not text:
            continue
        others_all = list(OTHER_COUNTRIES.finditer(text))
        ours = [m for m in matches if m.field == f]
        ours_at = {m.position for m in ours}
        for start, end, _ in _units(text, f):
            others = [o for o in others_all
                      if start <= o.start() < end and o.start() not in ours_at]
            if (len(others) >= 2 or len(RANK.findall(text, start, end)) >= 2
                    or (others and _enumerates(
                        text, [(m.position, m.position + len(m.surface), m.side) for m in ours
                               if start <= m.position < end]
                        + [(o.start(), o.end(), "") for o in others]))):
                out.append((f, start, end))
    whole_title = ("title", 0, len(title))
    roundup = bool(title) and whole_title not in out and ROUNDUP.search(title)
    # A round-up is about its items: its title counts as the story's subject only when one of
    # its items names both sides ("Thursday Briefing: Russia and North Korea's Pledge", not
    # "Главное к утру: решение ЦБ, пуск ракеты КНДР и снегопад в Москве")
    if roundup and not _one_item_names_both(title, [m for m in matches if m.field == "title"]):
        out.append(whole_title)
    if roundup or whole_title in out:      # the rest of the story is a list throughout
        return ([whole_title] if whole_title in out else []) + [
            (f, s, e) for f, text in fields.items() if text and f != "title"
            for s, e, _ in _units(text, f)]
    return out


# Where a round-up title's items part: punctuation, or a conjunction between two items
ITEM_SEP = re.compile(r"\s*(?:[,;·|…:]|\]|\s(?:and|и|а также|및)\s)\s*", re.IGNORECASE)


def _one_item_names_both(title: str, found: list[Match]) -> bool:
    """Whether one item of a round-up title names both sides. A conjunction or comma directly
    between two names ("Kim and Putin", "Russia, North Korea") does not part items."""
    spans = sorted((m.position, m.position + len(m.surface)) for m in found)
    joined = [(e1, s2) for (_, e1), (s2, _) in zip(spans, spans[1:])
              if s2 >= e1 and LIST_GAP.fullmatch(title, e1, s2)]
    cuts = [0] + [m.end() for m in ITEM_SEP.finditer(title)
                  if not any(a <= m.start() and m.end() <= b for a, b in joined)] + [len(title)]
    for a, b in zip(cuts, cuts[1:]):
        sides = {c for m in found if a <= m.position < b for c in m.side}
        if {"a", "b"} <= sides:
            return True
    return False


# A title that says the story is a round-up of unrelated news, a ranking or a table
# (a newsletter's "Your Thursday Briefing", not a "Pentagon briefing" or "합참 브리핑", which are
# press briefings and often the story itself)
ROUNDUP = re.compile(
    r"\b(?:(?:your (?:\w+day|morning|evening|weekend)|morning|evening|daily news) briefing|"
    r"digest|round-?up|news in brief|what you need to know|top stories|morning report|"
    r"evening report|medal (?:table|count|tally)|rankings?|league table|index)\b"
    r"|(?<!\w)(?:главное (?:к утру|за день|за сутки|за неделю|за выходные|к вечеру|на утро)|"
    r"дайджест\w*|обзор (?:новостей|прессы|событий)|рейтинг\w*|медальн\w+ зач[её]т\w*)(?!\w)"
    r"|주요\s*뉴스|(?:뉴스|아침|모닝|저녁)\s*브리핑|헤드라인|메달\s*(?:순위|집계)|순위|지수",
    re.IGNORECASE)
# A rank: "48위", "171-е место", "КНДР — 179-е" (not the decades "в 2010-е и 2020-е"), "48th
# place", "ranked 48th"
RANK = re.compile(r"\d+\s*위|\d+-(?:е|й|м|го)\s+мест\w*|[—–-]\s*\d+-[ей]\b"
                  r"|\d+(?:st|nd|rd|th)\s+place|\branked\s+\d+|\bNo\.\s*\d+", re.IGNORECASE)


# what may stand between the names of an enumeration: commas, "and", "or" (en, ru, ko)
LIST_GAP = re.compile(r"\s*(?:,|、|·|/|&|\band\b|\bor\b|\bи\b|\bили\b|및|와|과"
                      r"|,\s*(?:and|or|и|или)\b)?\s*", re.IGNORECASE)


def _enumerates(text: str, names: list[tuple[int, int, str]]) -> bool:
    """Whether a run of 3+ names (start, end, side; side "" for another country), one of them
    another country and both sides among them, follows one another with only LIST_GAP between."""
    run: list[tuple[int, int, str]] = []
    for n in sorted(set(names)):
        if run and n[0] < run[-1][1]:
            continue                       # overlaps the previous name ("North Korea's")
        if run and not LIST_GAP.fullmatch(text, run[-1][1], n[0]):
            if _is_list(run):
                return True
            run = []
        run.append(n)
    return _is_list(run)


def _is_list(run: list[tuple[int, int, str]]) -> bool:
    sides = {s for _, _, s in run}
    return len(run) >= 3 and "" in sides and {"a", "b"} <= {c for s in sides for c in s}


def classify(fields: dict[str, str], topic: Topic | None = None) -> Verdict:
    """Score the given fields (title, summary, text) against the topic (the default one when
    None); keep or reject, with the evidence and a one-line reason."""
    topic = topic or _default()
    matches: list[Match] = []
    for f, text in fields.items():
        matches.extend(find_terms(text or "", f, topic))
    matches, ignored = _apply_context(matches, fields, topic)
    sides = frozenset(m.side for m in matches)
    # lists change weights and closeness only where every side is named (else the score is 0)
    lists = _list_spans(fields, matches) if sides >= topic.sides else []
    weights = {s: 0 for s in topic.sides}
    from_text = {s: 0 for s in topic.sides}
    counted: dict[tuple[str, str, str], int] = {}
    for m in matches:
        key = (m.side, m.term, m.field)
        counted[key] = counted.get(key, 0) + 1
        if counted[key] > PER_TERM_FIELD or m.side not in weights:
            continue
        if m.field == "text":
            if from_text[m.side] >= TEXT_CAP:
                continue
            from_text[m.side] += 1
        in_list = any(f == m.field and a <= m.position < b for f, a, b in lists)
        weights[m.side] += 1 if in_list else FIELD_WEIGHT.get(m.field, 1)
    close = closeness(matches, fields, topic.sides, lists)
    score = min(weights.values()) + CLOSE_BONUS.get(close, 0)
    missing = [topic.side_names["ab".index(s)] for s in sorted(topic.sides - sides)]
    if missing:
        keep = False
        named = len(topic.sides) - len(missing)
        reason = (f"names neither side" if not named and len(topic.sides) == 2 else
                  f"names no {missing[0]} term" if len(topic.sides) == 1 else
                  f"names only one side (no {missing[0]} term)")
    elif len(topic.sides) == 1:
        keep = score >= KEEP_SCORE_ONE_SIDE
        reason = (f"score {score} ≥ {KEEP_SCORE_ONE_SIDE}" if keep else
                  f"score {score} < {KEEP_SCORE_ONE_SIDE}: only a passing mention")
    else:
        # sides that meet only inside lists are a passing mention, whatever the weights
        keep = score >= KEEP_SCORE and close != "list"
        where = {"title": "both in the title", "sentence": "both in one sentence",
                 "paragraph": "both in one paragraph",
                 "list": "both only in lists (of countries, a ranking, a round-up)",
                 None: "the sides far apart"}[close]
        reason = (f"score {score} ≥ {KEEP_SCORE}: {where}" if keep else
                  f"score {score} < {KEEP_SCORE}: only a passing mention ({where})"
                  if score < KEEP_SCORE else
                  f"score {score}, but {where}: a passing mention")
    if ignored:
        reason += f" (not counted here: {', '.join(ignored)})"
    return Verdict(keep=keep, sides=sides & topic.sides, matches=tuple(matches), reason=reason,
                   score=score, close=close)


def _apply_context(matches: list[Match], fields: dict[str, str],
                   topic: Topic) -> tuple[list[Match], list[str]]:
    """Drop the matches of terms whose context condition (Term.when / Term.unless) this story
    does not meet; returns the rest and the names of the terms dropped."""
    conditional = topic.conditional
    if not conditional or not any(m.term in conditional for m in matches):
        return matches, []
    story = "\n".join(t for t in fields.values() if t)
    dropped = {t.name for t in topic.terms
               if t.name in conditional and not t.counts_in(story)}
    if not dropped:
        return matches, []
    ignored = sorted({m.term for m in matches if m.term in dropped})
    return [m for m in matches if m.term not in dropped], ignored


def evidence(verdict: Verdict, topic: Topic | None = None) -> dict:
    """The verdict as plain data for the database: score, closeness and the matches (one per
    distinct term and field: term, side, field, position, surface)."""
    out, seen = [], set()
    names = dict(zip("ab", (topic or _default()).side_names))
    for m in verdict.matches:
        key = (m.term, m.field, m.side)
        if key not in seen:
            seen.add(key)
            out.append({"term": m.term, "side": names.get(m.side, m.side), "field": m.field,
                        "position": m.position, "surface": m.surface})
    return {"score": verdict.score, "close": verdict.close, "keep": verdict.keep,
            "reason": verdict.reason, "matches": out}
