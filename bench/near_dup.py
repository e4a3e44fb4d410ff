"""Near-duplicate detection on news text: which technique, which shingle size, which threshold.

Builds labelled pairs of texts from the real fixtures in ../shared/fixtures/real/ and scores each
pair with: exact Jaccard similarity of word k-shingle sets for k = 1..5; the MinHash estimate of
`monitor.dedup` (k = dedup.SHINGLE, dedup.PERMUTATIONS hash functions) and whether the pair would
meet in its LSH index (share one of dedup.BANDS band keys); and the Hamming distance of 64-bit
SimHash fingerprints (Charikar 2002, as used by Manku, Jain & Das Sarma 2007: one 64-bit hash per
word 3-shingle, weighted by the shingle's count, sign of each bit's weighted sum).

Pairs ("dup" = one story, "non" = different stories, "?" = reported but not scored):
  dup  yonhap-update     real: a Yonhap story and its (LEAD)/(3rd LD) update (articles/text/)
  dup  kcna-same-story   real: KCNA's one story published under several URLs (one pair a story)
  dup  syn-wire          article body vs a wire copy: other outlet's dateline + byline, last
                         paragraph dropped (bodies: articles/ground-truth.json, 60 articles)
  dup  syn-update        body vs body + one paragraph (taken from another article) inserted
  dup  syn-update2       body vs body + two paragraphs ("UPDATE 2")
  dup  syn-rewrite       body vs a light rewrite: ~10-15 % of words changed (synonym swaps,
                         one or two sentences trimmed) and one sentence moved
  dup  syn-brief-wire    short: a 40-60 word brief (the lede) vs the same with another dateline
  dup  syn-brief-edit    short: the brief vs the brief with 2-3 words swapped
  non  same-event        real, labelled by reading: different articles on one event or subject
                         (Yonhap vs KBS on the cruise-missile test, Korea Herald NK-Russia pieces,
                         weekly digests vs a story they quote, an EPA caption vs the story)
  non  kcna-same-title   real: KCNA items with the same headline and different text ("Press
                         Review", "DPRK Foreign Minister Leaves for Russia", ...), date-adjacent
  non  kcna-template     real: different KCNA stories written from one template ("Delegation
                         Leaves for Russia" vs "Delegation Returns Home"); selected as the
                         distinct-text pairs with exact 3-shingle Jaccard >= 0.15
  non  brief-vs-feature  the 40-60 word lede vs the long article it came from (articles >= 150 w)
  non  random            random article pairs, random KCNA pairs, random brief pairs
  ?    ap-captions       AP photo captions from one event ("Russia Putin" x 4): different
                         photos, one news event; shown, not scored

"Long" means both texts have >= dedup.SHORT_WORDS words (the rule of is_near_duplicate: the
shorter text decides). Precision/recall/F1 are of the "dup" decision.

A last section checks headline identity (dedup.normalize_title, the pipeline's "same headline from
the same outlet within TITLE_WINDOW_DAYS") on the Naver and KCNA headline lists.

    .venv/bin/python bench/near_dup.py
    .venv/bin/python bench/near_dup.py --json /tmp/near_dup.json   # every pair with its scores

Deterministic (fixed seed). No network. Writes nothing unless --json is given. Exits 0 with a
SKIP line when ../shared is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import itertools
import json
import random
import re
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "fixtures" / "real"
TEXTS = REAL / "articles" / "text"
GROUND_TRUTH = REAL / "articles" / "ground-truth.json"
NAVER = REAL / "headlines" / "naver_korean_press_english_2025-12_2026-01_baram.json"
KCNA = REAL / "headlines" / "kcna_headlines_2024-07_to_2024-11_stiles.json"
sys.path.insert(0, str(ROOT))

from monitor import dedup  # noqa: E402

SEED = 20261125
KS = (1, 2, 3, 4, 5)
MH_THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(13)]      # 0.30 .. 0.90
SH_THRESHOLDS = list(range(0, 13))                                   # Hamming distance 0 .. 12
try:
    from monitor.pipeline import TITLE_WINDOW_DAYS
except Exception:   # the pipeline is being edited by others; the value it had when written
    TITLE_WINDOW_DAYS = 3
try:   # the guard on the headline rule added after this bench's first results
    from monitor.pipeline import TITLE_MIN_WORDS, TITLE_TEXT_SIMILARITY
except Exception:
    TITLE_MIN_WORDS = TITLE_TEXT_SIMILARITY = None


# ---------------------------------------------------------------------------------- measures

def tokens(text: str) -> list[str]:
    return dedup.words(text)            # the monitor's own tokenisation (NFKC, casefold, \w+)


def shingles(toks: list[str], k: int) -> set[str]:
    if len(toks) < k:
        return {" ".join(toks)}
    return {" ".join(toks[i:i + k]) for i in range(len(toks) - k + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def simhash(toks: list[str], k: int = 3) -> int:
    """64-bit SimHash over word k-shingles weighted by count (Charikar; Manku et al. 2007)."""
    grams = Counter(" ".join(toks[i:i + k]) for i in range(max(len(toks) - k + 1, 1)))
    hashes = np.array([int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(),
                                      "little") for g in grams], dtype=np.uint64)
    weights = np.array(list(grams.values()), dtype=np.int64)
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    score = (weights[:, None] * (2 * bits.astype(np.int64) - 1)).sum(axis=0)
    return int(np.packbits((score > 0).astype(np.uint8), bitorder="little").view("<u8")[0])


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


# ---------------------------------------------------------------------------------- fixtures

def yonhap_body(path: Path) -> str:
    """The article text of a Baram crawl file: YAML-ish header, '# title', publisher line,
    body, crawl footer, separated by lines '---'."""
    parts = re.split(r"^---[ \t]*$", path.read_text(encoding="utf-8"), flags=re.M)
    return html.unescape(parts[3].strip()) if len(parts) >= 5 else ""


def load_texts() -> dict[str, str]:
    return {p.name[:14]: yonhap_body(p) for p in sorted(TEXTS.glob("*.txt"))}


def load_dates() -> dict[str, date]:
    out = {}
    for p in sorted(TEXTS.glob("*.txt")):
        m = re.search(r"^published_at:\s*(\d{4}-\d\d-\d\d)", p.read_text(encoding="utf-8"), re.M)
        if m:
            out[p.name[:14]] = date.fromisoformat(m.group(1))
    return out


def gap(d1: str | date, d2: str | date) -> int:
    d1 = date.fromisoformat(d1[:10]) if isinstance(d1, str) else d1
    d2 = date.fromisoformat(d2[:10]) if isinstance(d2, str) else d2
    return abs((d1 - d2).days)


_SENT = re.compile(r"(?<=[.!?])[\"”’')]*\s+(?=[\"“‘(]?[A-Z0-9])")


def sentences(par: str) -> list[str]:
    return [s for s in _SENT.split(par.strip()) if s.strip()]


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]


def lede(body: str, lo: int = 40, hi: int = 60) -> str:
    """The first sentences, 40-60 words: what a brief or a feed summary carries."""
    out: list[str] = []
    n = 0
    for s in sentences(" ".join(paragraphs(body))):
        w = s.split()
        if n + len(w) > hi:
            if n < lo:
                out.append(" ".join(w[:lo + (hi - lo) // 2 - n]))
            break
        out.append(s)
        n += len(w)
        if n >= lo:
            break
    return " ".join(out)


OUTLETS = ["Reuters", "AP", "AFP", "Yonhap", "Kyodo", "dpa", "UPI", "Bloomberg", "ANI", "PTI"]
CITIES = ["WASHINGTON", "LONDON", "SEOUL", "TOKYO", "NEW YORK", "BERLIN", "PARIS", "MOSCOW",
          "BEIJING", "SYDNEY"]
NAMES = ["David Brunnstrom", "Hyonhee Shin", "Mari Yamaguchi", "Kim Tong-hyung", "Jack Kim",
         "Guy Faulconbridge", "Josh Smith", "Sarah Marsh", "Andrew Osborn", "Ju-min Park"]
MONTHS = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.",
          "Nov.", "Dec."]

# Synonyms a copy editor uses; words outside this list are swapped for a word from FILLER
# (for shingle overlap a synonym and any other new word are the same: one changed token).
SYNONYMS = {
    "said": "stated", "says": "states", "told": "informed", "also": "additionally",
    "however": "but", "but": "however", "about": "around", "around": "about",
    "many": "numerous", "more": "additional", "new": "fresh", "big": "large", "large": "big",
    "small": "little", "show": "demonstrate", "shows": "demonstrates", "showed": "demonstrated",
    "help": "assist", "helped": "assisted", "use": "utilise", "used": "employed",
    "make": "create", "made": "created", "start": "begin", "started": "began",
    "began": "started", "end": "finish", "ended": "concluded", "important": "significant",
    "major": "key", "key": "major", "people": "individuals", "country": "nation",
    "nation": "country", "government": "administration", "officials": "authorities",
    "official": "spokesperson", "week": "seven days", "recent": "latest", "latest": "most recent",
    "despite": "in spite of", "because": "as", "before": "prior to", "after": "following",
    "during": "throughout", "while": "whereas", "expected": "anticipated", "plan": "proposal",
    "plans": "proposals", "announced": "unveiled", "reported": "stated", "report": "account",
    "according": "per", "tried": "attempted", "try": "attempt", "want": "wish", "wanted": "wished",
    "need": "require", "needs": "requires", "get": "obtain", "got": "obtained",
    "find": "discover", "found": "discovered", "big": "major", "likely": "probably",
    "very": "highly", "quickly": "rapidly", "often": "frequently", "first": "initial",
    "last": "previous", "next": "coming", "leader": "head", "talks": "negotiations",
    "meeting": "session", "attack": "strike", "troops": "soldiers", "soldiers": "troops",
    "missile": "rocket", "increase": "rise", "rise": "increase", "fell": "dropped",
    "support": "backing", "warned": "cautioned", "added": "continued", "noted": "observed",
}
FILLER = ["reportedly", "broadly", "notably", "widely", "formally", "publicly", "roughly",
          "nearly", "largely", "directly", "further", "overall", "separately", "meanwhile",
          "previously", "currently", "initially", "eventually", "recently", "apparently"]


def wire_copy(body: str, rng: random.Random) -> str:
    pars = paragraphs(body)
    if len(pars) > 1:
        pars = pars[:-1]
    else:       # one paragraph: drop its last sentence
        sents = sentences(pars[0])
        pars = [" ".join(sents[:-1]) if len(sents) > 1 else pars[0]]
    outlet, city, name = rng.choice(OUTLETS), rng.choice(CITIES), rng.choice(NAMES)
    dateline = f"{city}, {rng.choice(MONTHS)} {rng.randint(1, 28)} ({outlet}) - "
    return "\n\n".join([f"By {name}", dateline + pars[0], *pars[1:]])


def add_paragraphs(body: str, n: int, donors: list[str], rng: random.Random) -> str:
    pars = paragraphs(body)
    for _ in range(n):
        donor = [p for p in paragraphs(rng.choice(donors)) if 30 <= len(p.split()) <= 90]
        extra = rng.choice(donor) if donor else " ".join(rng.choice(donors).split()[:50])
        # an update adds a new top (after the lede) or further details at the end
        at = rng.choice([1, len(pars)]) if len(pars) > 1 else len(pars)
        pars.insert(at, extra)
    return "\n\n".join(pars)


def swap_words(words_: list[str], n: int, rng: random.Random) -> tuple[list[str], int]:
    """Swap `n` words (synonym if one is known, else a filler word); returns words and count."""
    out = list(words_)
    idx = list(range(len(out)))
    rng.shuffle(idx)
    idx.sort(key=lambda i: re.sub(r"\W", "", out[i]).lower() not in SYNONYMS)  # synonyms first
    done = 0
    for i in idx:
        if done >= n:
            break
        core = re.sub(r"\W", "", out[i]).lower()
        if not core or core.isdigit():
            continue
        new = SYNONYMS.get(core) or rng.choice(FILLER)
        out[i] = out[i].lower().replace(core, new) if core in out[i].lower() else new
        done += 1
    return out, done


def light_rewrite(body: str, rng: random.Random) -> tuple[str, float]:
    """~10-15 % of the words changed: sentences trimmed, words swapped; one sentence moved.
    Returns the text and the share of the original's words changed (swapped or trimmed)."""
    pars = [sentences(p) for p in paragraphs(body)]
    total = sum(len(s.split()) for p in pars for s in p)
    target = rng.uniform(0.10, 0.15) * total
    changed = 0
    # trim one or two sentences (not the lede) while that stays under half the budget
    for _ in range(2):
        cands = [(pi, si) for pi, p in enumerate(pars) for si in range(len(p))
                 if (pi, si) != (0, 0) and len(p) > 1]
        if not cands:
            break
        pi, si = rng.choice(cands)
        n = len(pars[pi][si].split())
        if changed + n > target / 2:
            continue
        del pars[pi][si]
        changed += n
    # move one sentence within its paragraph (or the paragraph order if one sentence each)
    multi = [p for p in pars if len(p) > 2]
    if multi:
        p = rng.choice(multi)
        s = p.pop(rng.randrange(1, len(p)))
        p.insert(rng.randrange(1, len(p) + 1), s)
    # swap words for the rest of the budget
    flat = [s.split() for p in pars for s in p]
    lengths = [len(w) for w in flat]
    words_, done = swap_words([w for ws in flat for w in ws], max(0, round(target - changed)),
                              rng)
    changed += done
    it = iter(words_)
    rebuilt, k = [], 0
    for p in pars:
        sents = []
        for _ in p:
            sents.append(" ".join(next(it) for _ in range(lengths[k])))
            k += 1
        rebuilt.append(" ".join(sents))
    return "\n\n".join(x for x in rebuilt if x), changed / max(total, 1)


# ---------------------------------------------------------------------------------- pairs

@dataclass
class Pair:
    cls: str
    label: bool | None            # True = one story, False = different stories, None = unscored
    a: str                        # names, for the report
    b: str
    text_a: str = field(repr=False)
    text_b: str = field(repr=False)
    days: int | None = None       # days between the two publications, where known
    scores: dict = field(default_factory=dict)


# Real pairs labelled by reading the texts (articles/text/, keys are oid_aid).
REAL_DUPS = [
    ("001_0015816647", "001_0015816669", "UNC/MDL: first version vs (LEAD), 3 paras added"),
    ("001_0015817431", "001_0015818737", "cruise missiles: (2nd LD) vs (3rd LD), recast"),
]
REAL_SAME_EVENT = [
    ("001_0015817431", "056_0012094718", "cruise-missile test: Yonhap (2nd LD) vs KBS"),
    ("001_0015818737", "056_0012094718", "cruise-missile test: Yonhap (3rd LD) vs KBS"),
    ("001_0015817431", "091_0010085726", "cruise-missile test: Yonhap vs EPA photo caption"),
    ("044_0000278270", "044_0000278407", "Korea Herald: NK-Russia ties vs New Year gifts"),
    ("001_0015826293", "044_0000278407", "Zakharova/Kim Yo-jong gifts: Yonhap digest vs KH"),
    ("044_0000278282", "001_0015818737", "KH: Russian tech behind NK sub vs Yonhap missiles"),
    ("001_0015826290", "001_0015816732", "weekly domestic digest vs the constitution story"),
    ("001_0015826290", "001_0015817431", "weekly domestic digest vs the cruise-missile story"),
    ("001_0015826290", "001_0015826292", "weekly domestic digest vs weekly key developments"),
    ("001_0015819166", "044_0000278282", "USFK commander (NK-Russia) vs KH Russian sub tech"),
    ("001_0015816647", "001_0015819166", "same reporter, UNC/MDL vs USFK commander"),
    ("056_0012094718", "056_0012097578", "KBS News Today: missiles vs Kim comforts families"),
    ("001_0015816674", "001_0015816732", "Yonhap same day: Kim appearances vs constitution"),
    ("077_0006852751", "077_0006852950", "AP captions: Kyiv strike vs Putin command post"),
]
AMBIGUOUS_CAPTIONS = ["077_0006852950", "077_0006852953", "077_0006852954", "077_0006852955"]


def kcna_items() -> list[dict]:
    items = json.loads(KCNA.read_text(encoding="utf-8"))["items"]
    return [i for i in items if (i.get("story_text") or "").strip()]


def build_pairs(rng: random.Random) -> tuple[list[Pair], dict]:
    pairs: list[Pair] = []
    info: dict = {}
    texts, dates = load_texts(), load_dates()

    # -- real Yonhap / KBS / Korea Herald / EPA / AP
    for a, b, why in REAL_DUPS:
        pairs.append(Pair("yonhap-update", True, f"{a} vs {b} ({why})", "", texts[a], texts[b],
                          gap(dates[a], dates[b])))
    for a, b, why in REAL_SAME_EVENT:
        pairs.append(Pair("same-event", False, f"{a} vs {b} ({why})", "", texts[a], texts[b],
                          gap(dates[a], dates[b])))
    for a, b in itertools.combinations(AMBIGUOUS_CAPTIONS, 2):
        pairs.append(Pair("ap-captions", None, f"{a} vs {b}", "", texts[a], texts[b],
                          gap(dates[a], dates[b])))

    # -- KCNA: one text under several URLs; same headline, different text; templates
    items = kcna_items()
    by_text: dict[str, list[dict]] = defaultdict(list)
    for it in items:
        by_text[it["story_text"].strip()].append(it)
    distinct = list(by_text)
    for text, group in by_text.items():
        if len(group) > 1:
            a, b = group[0], group[1]
            pairs.append(Pair("kcna-same-story", True,
                              f"KCNA {a['date']} …{a['link'][-14:-6]} vs …{b['link'][-14:-6]}: "
                              f"{a['headline'][:60]}", "", text, b["story_text"].strip(),
                              gap(a["date"], b["date"])))
    by_title: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, group in by_text.items():
        by_title[group[0]["headline"].strip().lower()].append((group[0]["date"], text))
    same_title = set()
    for title, versions in by_title.items():
        versions.sort()
        for (d1, t1), (d2, t2) in zip(versions, versions[1:]):
            same_title.add(frozenset((t1, t2)))
            pairs.append(Pair("kcna-same-title", False, f"KCNA {d1} vs {d2}: {title[:60]}", "",
                              t1, t2, gap(d1, d2)))
    sh3 = {t: shingles(tokens(t), 3) for t in distinct}
    head = {t: by_text[t][0]["headline"] for t in distinct}
    templ = set()
    for t1, t2 in itertools.combinations(distinct, 2):
        if frozenset((t1, t2)) in same_title or head[t1].lower() == head[t2].lower():
            continue
        if jaccard(sh3[t1], sh3[t2]) >= 0.15:
            templ.add(frozenset((t1, t2)))
            d1, d2 = by_text[t1][0]["date"], by_text[t2][0]["date"]
            pairs.append(Pair("kcna-template", False,
                              f"KCNA {d1} {head[t1][:45]!r} vs {d2} {head[t2][:45]!r}", "",
                              t1, t2, gap(d1, d2)))
    n_random_kcna = 0
    while n_random_kcna < 150:
        t1, t2 = rng.sample(distinct, 2)
        key = frozenset((t1, t2))
        if key in same_title or key in templ:
            continue
        n_random_kcna += 1
        pairs.append(Pair("random", False, f"KCNA {head[t1][:40]!r} vs {head[t2][:40]!r}", "",
                          t1, t2, gap(by_text[t1][0]["date"], by_text[t2][0]["date"])))

    # -- synthetic, from the 60 benchmark article bodies
    gt = json.loads(GROUND_TRUTH.read_text(encoding="utf-8"))
    keys = sorted(gt)
    bodies = {k: gt[k]["articleBody"].strip() for k in keys}
    host = {k: re.sub(r"^www\.", "", urlsplit(gt[k]["url"]).hostname or "") for k in keys}
    name = {k: f"{host[k]}/{k[:6]}" for k in keys}
    rates = []
    for k in keys:
        body = bodies[k]
        donors = [bodies[x] for x in keys if x != k]
        pairs.append(Pair("syn-wire", True, name[k], "wire copy", body, wire_copy(body, rng)))
        pairs.append(Pair("syn-update", True, name[k], "+1 paragraph", body,
                          add_paragraphs(body, 1, donors, rng)))
        pairs.append(Pair("syn-update2", True, name[k], "+2 paragraphs", body,
                          add_paragraphs(body, 2, donors, rng)))
        rewritten, rate = light_rewrite(body, rng)
        rates.append(rate)
        pairs.append(Pair("syn-rewrite", True, name[k], f"rewrite {rate:.0%} words", body,
                          rewritten))
        brief = lede(body)
        outlet, city = rng.choice(OUTLETS), rng.choice(CITIES)
        pairs.append(Pair("syn-brief-wire", True, name[k], "brief vs brief with dateline", brief,
                          f"{city} ({outlet}) - {brief}"))
        edited, _ = swap_words(brief.split(), rng.randint(2, 3), rng)
        pairs.append(Pair("syn-brief-edit", True, name[k], "brief vs brief, 2-3 words swapped",
                          brief, " ".join(edited)))
        if len(body.split()) >= 150:
            pairs.append(Pair("brief-vs-feature", False, name[k], "lede vs full article", brief,
                              body))
    info["rewrite_rate"] = (min(rates), statistics.median(rates), max(rates))
    for _ in range(100):
        a, b = rng.sample(keys, 2)
        pairs.append(Pair("random", False, name[a], name[b], bodies[a], bodies[b]))
    for _ in range(50):
        a, b = rng.sample(keys, 2)
        pairs.append(Pair("random", False, f"brief {name[a]}", f"brief {name[b]}", lede(bodies[a]),
                          lede(bodies[b])))
    return pairs, info


# ---------------------------------------------------------------------------------- scoring

_FP_CACHE: dict[str, tuple] = {}


def features(text: str) -> tuple:
    got = _FP_CACHE.get(text)
    if got is None:
        toks = tokens(text)
        fp = dedup.fingerprint(text)
        got = (toks, {k: shingles(toks, k) for k in KS}, fp, set(fp.bands()), simhash(toks))
        _FP_CACHE[text] = got
    return got


def score(p: Pair) -> None:
    ta, sa, fa, ba, ha = features(p.text_a)
    tb, sb, fb, bb, hb = features(p.text_b)
    p.scores = {f"j{k}": jaccard(sa[k], sb[k]) for k in KS}
    p.scores["mh"] = dedup.similarity(fa.signature, fb.signature)
    p.scores["lsh"] = bool(ba & bb)
    p.scores["sh"] = hamming(ha, hb)
    p.scores["words"] = min(len(ta), len(tb))
    p.scores["words_max"] = max(len(ta), len(tb))
    p.scores["current"] = dedup.is_near_duplicate(fa, fb)[0]


def prf(pairs: list[Pair], pred) -> tuple[int, int, int, float, float, float]:
    tp = sum(1 for p in pairs if p.label and pred(p))
    fp = sum(1 for p in pairs if not p.label and pred(p))
    fn = sum(1 for p in pairs if p.label and not pred(p))
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return tp, fp, fn, prec, rec, f1


def is_short(p: Pair) -> bool:
    return p.scores["words"] < dedup.SHORT_WORDS


def mmm(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    return "/".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


CLASS_ORDER = ["yonhap-update", "kcna-same-story", "syn-wire", "syn-update", "syn-update2",
               "syn-rewrite", "syn-brief-wire", "syn-brief-edit", "same-event", "kcna-same-title",
               "kcna-template", "brief-vs-feature", "random", "ap-captions"]


def print_distributions(pairs: list[Pair]) -> None:
    print("\n== Per-class distributions (min/median/max; J_k = exact Jaccard of word k-shingles, "
          f"MH = MinHash estimate k={dedup.SHINGLE}, SH = SimHash Hamming distance, "
          "LSH = share of pairs meeting in a band)")
    print(f"{'class':17} {'lab':>3} {'n':>4} {'short':>5} {'min words':>13} {'J1 med':>6} "
          f"{'J2 med':>6} {'J3 min/med/max':>15} {'J4 med':>6} {'J5 med':>6} "
          f"{'MH min/med/max':>15} {'SH min/med/max':>14} {'LSH':>5}")
    for cls in CLASS_ORDER:
        ps = [p for p in pairs if p.cls == cls]
        if not ps:
            continue
        lab = {True: "dup", False: "non", None: "?"}[ps[0].label]
        s = lambda key: [p.scores[key] for p in ps]  # noqa: E731
        print(f"{cls:17} {lab:>3} {len(ps):>4} {sum(map(is_short, ps)):>5} "
              f"{mmm(s('words'), '{:.0f}'):>13} {statistics.median(s('j1')):>6.2f} "
              f"{statistics.median(s('j2')):>6.2f} {mmm(s('j3')):>15} "
              f"{statistics.median(s('j4')):>6.2f} {statistics.median(s('j5')):>6.2f} "
              f"{mmm(s('mh')):>15} {mmm(s('sh'), '{:.0f}'):>14} "
              f"{sum(s('lsh')) / len(ps):>5.0%}")


def print_threshold_table(title: str, pairs: list[Pair], thresholds, pred_for) -> None:
    pos = sum(1 for p in pairs if p.label)
    print(f"\n-- {title}: {pos} dup / {len(pairs) - pos} non-dup pairs")
    print(f"{'thr':>5} {'TP':>4} {'FP':>4} {'FN':>4} {'P':>6} {'R':>6} {'F1':>6}")
    for t in thresholds:
        tp, fp, fn, pr, rc, f1 = prf(pairs, pred_for(t))
        print(f"{t:>5} {tp:>4} {fp:>4} {fn:>4} {pr:>6.3f} {rc:>6.3f} {f1:>6.3f}")


def best(pairs: list[Pair], key: str, thresholds, above: bool = True) -> tuple:
    """Best F1 threshold (ties: the middle of the tied range)."""
    rows = []
    for t in thresholds:
        pred = (lambda p, t=t: p.scores[key] >= t) if above else (lambda p, t=t: p.scores[key] <= t)
        rows.append((t, *prf(pairs, pred)))
    top = max(r[6] for r in rows)
    tied = [r for r in rows if r[6] == top]
    return tied[len(tied) // 2], (tied[0][0], tied[-1][0])


def print_k_summary(groups: dict[str, list[Pair]]) -> None:
    grid = [round(0.05 * i, 2) for i in range(1, 20)]
    print("\n== Which measure / shingle size: best-F1 threshold (the range of thresholds with that "
          "F1 in brackets); SimHash searched over 0..32 bits")
    print(f"{'measure':8} " + " ".join(f"{g + ': thr [range]   P / R / F1':>41}" for g in groups))
    for key in [f"j{k}" for k in KS] + ["mh", "sh"]:
        cells = []
        for ps in groups.values():
            if key == "sh":
                r, rng_ = best(ps, key, range(33), above=False)
            else:
                r, rng_ = best(ps, key, grid)
            t, _tp, _fp, _fn, pr, rc, f1 = r
            cells.append(f"{t:>5} [{rng_[0]}-{rng_[1]}]  {pr:.3f} / {rc:.3f} / {f1:.3f}")
        label = {"mh": f"MH k={dedup.SHINGLE}", "sh": "SimHash"}.get(key, f"J{key[1]} exact")
        print(f"{label:8} " + " ".join(f"{c:>41}" for c in cells))


@dataclass(frozen=True)
class Rule:
    long: float
    short: float
    short_words: int
    window: int | None = None      # pairs published further apart are never compared

    def dup(self, p: Pair) -> bool:
        if self.window is not None and p.days is not None and p.days > self.window:
            return False
        if p.scores["words"] < getattr(dedup, "MIN_WORDS", 0):   # is_near_duplicate's floor
            return False
        short = p.scores["words"] < self.short_words
        return p.scores["mh"] >= (self.short if short else self.long)

    def __str__(self) -> str:
        w = f", window {self.window} days" if self.window is not None else ""
        return (f"MH >= {self.long} (>= {self.short} when the shorter text has "
                f"< {self.short_words} words){w}")


# What this bench recommends (see the report printed by main and the module docstring).
RECOMMENDED = Rule(long=0.4, short=0.55, short_words=50, window=7)


def print_rule_grid(scored: list[Pair]) -> None:
    """Both thresholds and the short/long boundary together: the best rule per boundary."""
    longs = [round(0.30 + 0.05 * i, 2) for i in range(9)]          # 0.30 .. 0.70
    shorts = [round(0.30 + 0.05 * i, 2) for i in range(13)]        # 0.30 .. 0.90
    print("\n== Rule search: for each short/long boundary, the (long, short) thresholds with the "
          "best F1 over all scored pairs (ties: fewest false positives, then highest thresholds)")
    print(f"{'window':>8} {'SHORT_WORDS':>11} {'long':>5} {'short':>5} {'TP':>4} {'FP':>3} "
          f"{'FN':>3} {'P':>6} {'R':>6} {'F1':>6}")
    for window in (None, 7):
        for sw in (0, 30, 50, 75, 100, 150):
            rows = []
            for lt in longs:
                for st in shorts:
                    rule = Rule(lt, st, sw, window)
                    tp, fp, fn, pr, rc, f1 = prf(scored, rule.dup)
                    rows.append((round(f1, 4), -fp, lt, st, tp, fp, fn, pr, rc))
            f1, _, lt, st, tp, fp, fn, pr, rc = max(rows)
            st = st if sw else "-"          # boundary 0: one threshold for every pair
            print(f"{'-' if window is None else window:>8} {sw:>11} {lt:>5} {st:>5} {tp:>4} "
                  f"{fp:>3} {fn:>3} {pr:>6.3f} {rc:>6.3f} {f1:>6.3f}")


def print_rule(rule: Rule, pairs: list[Pair], title: str) -> None:
    scored = [p for p in pairs if p.label is not None]
    print(f"\n== {title}: {rule}")
    print(f"{'class':17} {'lab':>3} {'n':>4} {'called dup':>10}")
    for cls in CLASS_ORDER:
        ps = [p for p in pairs if p.cls == cls]
        if ps:
            lab = {True: "dup", False: "non", None: "?"}[ps[0].label]
            print(f"{cls:17} {lab:>3} {len(ps):>4} {sum(map(rule.dup, ps)):>10}")
    for name, ps in (("long", [p for p in scored if p.scores["words"] >= rule.short_words]),
                     ("short", [p for p in scored if p.scores["words"] < rule.short_words]),
                     ("all", scored)):
        tp, fp, fn, pr, rc, f1 = prf(ps, rule.dup)
        print(f"  {name:6} TP {tp:>4} FP {fp:>3} FN {fn:>3}  P {pr:.3f}  R {rc:.3f}  F1 {f1:.3f}")
    wrong = [p for p in scored if rule.dup(p) != p.label]
    print(f"-- misclassified ({len(wrong)}):")
    for p in sorted(wrong, key=lambda p: (CLASS_ORDER.index(p.cls), p.scores["mh"])):
        print("   " + describe(p))
    missed = [p for p in scored if p.label and rule.dup(p) and not p.scores["lsh"]]
    print(f"-- duplicates this rule accepts but the LSH index would not propose: {len(missed)}")


def describe(p: Pair) -> str:
    s = p.scores
    days = f"{p.days:>3}d" if p.days is not None else "   -"
    return (f"{'DUP' if p.label else 'non'} {p.cls:16} words {s['words']:>4}/{s['words_max']:<5} "
            f"J3 {s['j3']:.2f} MH {s['mh']:.2f} SH {s['sh']:>2} {days}  {p.a}"
            + (f" | {p.b}" if p.b else ""))


# ---------------------------------------------------------------------------------- titles

# Naver items that are one story (labelled by reading the headlines and, for the first two, the
# texts in articles/text/): a first version and its (LEAD)/(2nd LD)/(3rd LD) updates.
NAVER_SAME_STORY = [
    ("0015816647", "0015816669"), ("0015817431", "0015818737"), ("0015819488", "0015819643"),
    ("0015821232", "0015821306"), ("0015821308", "0015821381"), ("0015825323", "0015826381"),
    ("0015825576", "0015825904"),
]


def _simulate(items: list[dict], same_story, sims: dict | None = None, guard=None
              ) -> tuple[int, int, int, Counter]:
    """Feed the items in order through the pipeline's headline rule: an item whose title key
    equals that of a kept item from the same outlet within TITLE_WINDOW_DAYS is dropped.
    Returns (kept, dropped correctly, dropped wrongly, wrong drops by key); when `sims` is
    given, the MinHash similarity of each dropped item to the kept one is appended to
    sims["right"] or sims["wrong"]. `guard(kept, item)`, when given, must also hold."""
    kept: list[dict] = []
    right = wrong = 0
    by_key: Counter = Counter()

    def sim(a: dict, b: dict) -> float:
        return dedup.similarity(features(a["story_text"])[2].signature,
                                features(b["story_text"])[2].signature)
    for it in items:
        hit = next((k for k in kept if it["key"] and k["key"] == it["key"]
                    and k["outlet"] == it["outlet"]
                    and abs((k["day"] - it["day"]).days) <= TITLE_WINDOW_DAYS
                    and (guard is None or guard(k, it))), None)
        if hit is None:
            kept.append(it)
        elif same_story(hit, it):
            right += 1
            if sims is not None:
                sims["right"].append(sim(hit, it))
        else:
            wrong += 1
            by_key[it["key"]] += 1
            if sims is not None:
                sims["wrong"].append(sim(hit, it))
    return len(kept), right, wrong, by_key


def title_check() -> list[str]:
    lines = []
    nav = json.loads(NAVER.read_text(encoding="utf-8"))["items"]
    for it in nav:
        it["aid"] = it["naver_url"].rsplit("/", 1)[-1]
        it["outlet"] = it["publisher"]
        it["key"] = dedup.normalize_title(it["title"], it["publisher"])
        it["day"] = date.fromisoformat(it["date"][:10])
    same = {frozenset(p) for p in NAVER_SAME_STORY}
    aid = {it["aid"]: it for it in nav}
    found = [(a, b) for a, b in NAVER_SAME_STORY if aid[a]["key"] == aid[b]["key"]]
    lines.append(f"Naver: {len(same)} labelled same-story pairs (first version vs update), "
                 f"{len(found)} have equal title keys; missed:")
    for a, b in NAVER_SAME_STORY:
        if aid[a]["key"] != aid[b]["key"]:
            lines.append(f"    {aid[a]['title'][:62]!r} / {aid[b]['title'][:62]!r}")
    nav.sort(key=lambda it: (it["day"], it["aid"]))
    kept, right, wrong, by_key = _simulate(
        nav, lambda a, b: frozenset((a["aid"], b["aid"])) in same)
    lines.append(f"  in date order, {len(nav)} items: {kept} kept, {right} dropped as updates "
                 f"of a kept story (right), {wrong} different items dropped (wrong):")
    for key, n in by_key.most_common():
        lines.append(f"    {n:>3} x {key!r}")
    items = kcna_items()
    for it in items:
        it["outlet"] = "kcna.kp"
        it["key"] = dedup.normalize_title(it["headline"], "KCNA")
        it["day"] = date.fromisoformat(it["date"][:10])
    items.sort(key=lambda it: it["day"])
    sims: dict = {"right": [], "wrong": []}
    kept, right, wrong, by_key = _simulate(
        items, lambda a, b: a["story_text"].strip() == b["story_text"].strip(), sims)
    lines.append(f"KCNA, in date order, {len(items)} items with text: {kept} kept, {right} "
                 f"dropped with the same text (right), {wrong} with different text (wrong):")
    for key, n in by_key.most_common():
        lines.append(f"    {n:>3} x {key!r}")
    lines.append(f"  MinHash similarity of the dropped item to the kept one: right drops "
                 f"{mmm(sims['right'])}, wrong drops {mmm(sims['wrong'])} (min/median/max)")
    if TITLE_MIN_WORDS is not None:
        def text_sim(a: dict, b: dict) -> float:
            return dedup.similarity(features(a["story_text"])[2].signature,
                                    features(b["story_text"])[2].signature)
        lines.append(f"With the pipeline's guard (title key of >= {TITLE_MIN_WORDS} words and text "
                     f"similarity >= {TITLE_TEXT_SIMILARITY}):")
        kept, right, wrong, by_key = _simulate(
            nav, lambda a, b: frozenset((a["aid"], b["aid"])) in same,
            guard=lambda a, b: len(a["key"].split()) >= TITLE_MIN_WORDS)
        lines.append(f"  Naver (word guard only: no text for most items): {kept} kept, {right} "
                     f"right drops, {wrong} wrong drops "
                     + ", ".join(f"{n} x {k!r}" for k, n in by_key.most_common()))
        kept, right, wrong, by_key = _simulate(
            items, lambda a, b: a["story_text"].strip() == b["story_text"].strip(),
            guard=lambda a, b: len(a["key"].split()) >= TITLE_MIN_WORDS
            and text_sim(a, b) >= TITLE_TEXT_SIMILARITY)
        lines.append(f"  KCNA: {kept} kept, {right} right drops, {wrong} wrong drops"
                     + "".join(f", {n} x {k!r}" for k, n in by_key.most_common()))
    return lines


# ---------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write every pair and its scores here")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--long", type=float, default=RECOMMENDED.long,
                    help="proposed NEAR_DUPLICATE (default %(default)s)")
    ap.add_argument("--short", type=float, default=RECOMMENDED.short,
                    help="proposed NEAR_DUPLICATE_SHORT (default %(default)s)")
    ap.add_argument("--short-words", type=int, default=RECOMMENDED.short_words,
                    help="proposed SHORT_WORDS (default %(default)s)")
    ap.add_argument("--window", type=int, default=RECOMMENDED.window,
                    help="proposed publication window in days (default %(default)s)")
    args = ap.parse_args(argv)
    if not (TEXTS.is_dir() and GROUND_TRUTH.is_file() and KCNA.is_file() and NAVER.is_file()):
        print(f"SKIP: real fixtures not found under {REAL} (../shared is absent on this machine)")
        return 0
    rng = random.Random(args.seed)
    pairs, info = build_pairs(rng)
    for p in pairs:
        score(p)
    scored = [p for p in pairs if p.label is not None]
    long_, short = [p for p in scored if not is_short(p)], [p for p in scored if is_short(p)]

    print(f"monitor.dedup: SHINGLE={dedup.SHINGLE} PERMUTATIONS={dedup.PERMUTATIONS} "
          f"ROWS={dedup.ROWS} BANDS={dedup.BANDS} NEAR_DUPLICATE={dedup.NEAR_DUPLICATE} "
          f"NEAR_DUPLICATE_SHORT={dedup.NEAR_DUPLICATE_SHORT} SHORT_WORDS={dedup.SHORT_WORDS}")
    lo, med, hi = info["rewrite_rate"]
    print(f"{len(pairs)} pairs ({len(scored)} scored: {len(long_)} long, {len(short)} short "
          f"(< {dedup.SHORT_WORDS} words); {len(pairs) - len(scored)} unscored); syn-rewrite "
          f"changed {lo:.0%}/{med:.0%}/{hi:.0%} (min/median/max) of the words")
    print_distributions(pairs)

    k = dedup.SHINGLE
    err = [p.scores["mh"] - p.scores[f"j{k}"] for p in pairs]
    z = [(p.scores["mh"] - p.scores[f"j{k}"])
         / (p.scores[f"j{k}"] * (1 - p.scores[f"j{k}"]) / dedup.PERMUTATIONS) ** 0.5
         for p in pairs if 0.05 < p.scores[f"j{k}"] < 0.95]
    print(f"\nMinHash estimate - exact J{k}: mean {statistics.mean(err):+.3f}, mean |error| "
          f"{statistics.mean(map(abs, err)):.3f}, p95 |error| "
          f"{sorted(map(abs, err))[int(0.95 * len(err))]:.3f}, max |error| "
          f"{max(map(abs, err)):.3f}; standardised by the binomial s.d. sqrt(J(1-J)/"
          f"{dedup.PERMUTATIONS}) over {len(z)} pairs with 0.05<J<0.95: mean "
          f"{statistics.mean(z):+.2f}, s.d. {statistics.pstdev(z):.2f} (ideal 0, 1)")

    print_k_summary({"long": long_, "short": short})

    print(f"\n== MinHash estimate (k={k}, {dedup.PERMUTATIONS} permutations): "
          "dup when estimate >= thr")
    for name, ps in ((f"long (>= {dedup.SHORT_WORDS} words)", long_),
                     (f"short (< {dedup.SHORT_WORDS} words)", short)):
        print_threshold_table(name, ps, MH_THRESHOLDS,
                              lambda t: (lambda p: p.scores["mh"] >= t))
    print("\n== SimHash (64 bits over word 3-shingles): dup when Hamming distance <= thr")
    for name, ps in (("long", long_), ("short", short)):
        print_threshold_table(name, ps, SH_THRESHOLDS, lambda t: (lambda p: p.scores["sh"] <= t))

    print_rule_grid(scored)

    r, b = dedup.ROWS, dedup.BANDS
    js = (0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8)
    print(f"\n== LSH banding ({b} bands x {r} rows): P(candidate | J) = 1-(1-J^{r})^{b}")
    print("  bands x rows, J = " + " ".join(f"{j:>5}" for j in js))
    for rr in sorted({r, 2, 4, 6}):
        bb = dedup.PERMUTATIONS // rr
        print(f"  {bb:>3} x {rr:<11}" + " ".join(f"{1 - (1 - j ** rr) ** bb:>5.3f}" for j in js)
              + f"   ({bb} index rows a story)" + ("  <- current" if rr == r else ""))
    non = [p for p in scored if p.label is False]
    print(f"   scored non-duplicates meeting in a band (candidates to verify): "
          f"{sum(p.scores['lsh'] for p in non)}/{len(non)}")

    current = Rule(dedup.NEAR_DUPLICATE, dedup.NEAR_DUPLICATE_SHORT, dedup.SHORT_WORDS)
    print_rule(current, pairs, "Current rule (is_near_duplicate)")
    proposed = Rule(args.long, args.short, args.short_words, None)
    print_rule(proposed, pairs, "Proposed thresholds")
    if args.window is not None:
        print_rule(Rule(args.long, args.short, args.short_words, args.window), pairs,
                   "Proposed thresholds and publication window")
    amb = [p for p in pairs if p.label is None]
    print(f"\n-- unscored AP captions of one event (different photos): MH "
          f"{mmm([p.scores['mh'] for p in amb])}; called duplicates by the current rule "
          f"{sum(map(current.dup, amb))}/{len(amb)}, by the proposed "
          f"{sum(map(proposed.dup, amb))}/{len(amb)}")

    print(f"\n== Headline identity: normalize_title equal, same outlet, within {TITLE_WINDOW_DAYS} "
          "days (the pipeline's same_title rule)")
    for line in title_check():
        print(line)

    e1, e2 = dedup.fingerprint(""), dedup.fingerprint("\n")
    print(f"\n== Degenerate input: two stories with no text: is_near_duplicate -> "
          f"{dedup.is_near_duplicate(e1, e2)}, their bands equal: {e1.bands() == e2.bands()} "
          f"(so every text-less story is a candidate of every other)")

    if args.json:
        args.json.write_text(json.dumps([
            {"class": p.cls, "label": p.label, "a": p.a, "b": p.b, "days": p.days,
             **p.scores} for p in pairs], indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
