"""Story identity: canonical URLs and the story id derived from them.

Identity by URL (the same link, with or without tracking parameters, the page's own rel=canonical),
by text (MinHash signatures of word shingles, compared through an LSH index kept by `state`), and
by headline (normalised titles). Pure functions; no I/O.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import string
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import functools

# Query parameters that only track the click, never select the content. Lower-cased.
# utm_*: Google Analytics; at_*: BBC/AT Internet; ns_*: comScore (BBC); the rest are named in
# the ad networks' and publishers' own docs (fbclid Facebook, gclid/dclid/gbraid/wbraid Google,
# msclkid Bing, yclid Yandex, mc_* Mailchimp, _hs* HubSpot, smid/cmpid NYT, CMP Guardian).
TRACKING_PREFIXES = ("utm_", "at_", "ns_", "_hs", "mc_", "pk_", "mtm_")
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid",
    "mkt_tok", "smid", "cmpid", "cmp", "ocid", "ito", "rss", "feature", "spm", "_ga", "_gl",
    "sr_share", "ref_src", "ref_url", "s_cid", "wt.mc_id", "xtor", "ncid",
})
DEFAULT_PORTS = {"http": 80, "https": 443}
# Second-level labels under which registrable domains sit one level deeper (bbc.co.uk, abc.net.au).
_SECOND_LEVEL = {"co", "com", "net", "org", "gov", "ac", "edu", "ne", "or", "go"}


def _is_tracking(name: str) -> bool:
    n = name.lower()
    return n in TRACKING_PARAMS or n.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """A stable form of `url` for identity: lower-case scheme and host, no default port, no
    fragment, no tracking parameters, query sorted, path percent-encoding normalised. A URL
    that cannot be split (a malformed host such as "http://[::1/") is returned stripped."""
    try:
        parts = urlsplit(url.strip())
        parts.hostname
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"[{host}]" if ":" in host else host     # IPv6 literals keep their brackets
    if port and DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    path = normalize_escapes(parts.path) or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_BARE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


def normalize_escapes(path: str) -> str:
    """RFC 3986 §6.2.2: upper-case percent escapes, decode those of unreserved characters only,
    and percent-encode raw non-ASCII or unsafe characters. Escapes such as %2F and %25 stay."""
    def one(m: re.Match) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()
    path = _BARE_PERCENT.sub("%25", path)   # a stray "%" is data: "/%%41" must not become "/%A"
    return quote(_ESCAPE.sub(one, path), safe="/:@!$&'()*+,;=-._~%")


def story_id(canonical: str) -> str:
    """16 lower-case hex digits: the start of the SHA-256 of the canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def site_of(url: str) -> str:
    """The registrable part of a URL's host, approximately: www.bbc.co.uk → bbc.co.uk."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    try:
        return str(ipaddress.ip_address(host))   # an address is its own site
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def same_site(a: str, b: str) -> bool:
    return bool(site_of(a)) and site_of(a) == site_of(b)


# ---------------------------------------------------------------------------------------------
# Near-duplicate text: MinHash over word shingles (Broder 1997), banded for LSH.
#
# A story's body is cut into overlapping word k-grams ("shingles"); its signature is, for each of
# PERMUTATIONS hash functions, the smallest hash of any shingle. The share of equal positions in
# two signatures estimates the Jaccard similarity of their shingle sets. Signatures are split into
# BANDS of ROWS values; two stories that agree on a whole band become candidates (the LSH index
# lives in SQLite: one row per band), and candidates are verified on the full signature.
# Constants chosen by measurement: bench/near_dup.py.

SHINGLE = 3              # words per shingle
PERMUTATIONS = 126
ROWS = 3                 # values per LSH band
BANDS = PERMUTATIONS // ROWS
SHORT_WORDS = 50         # texts shorter than this need a stricter match


@functools.cache
def _numpy():
    """numpy and the hash parameters, on first use: importing numpy costs about half a second,
    and most commands (check, feeds, digest, why, ...) never compute a signature."""
    import numpy as np

    rng = np.random.default_rng(20261125)   # fixed: signatures are persisted, they must not change
    a = rng.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)
    return np, a, b


_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Fingerprint:
    signature: bytes      # PERMUTATIONS little-endian uint32 values
    words: int            # number of words in the text

    def bands(self) -> list[int]:
        """One signed 64-bit key per band (band number mixed in), for the SQLite index."""
        keys = []
        for b in range(BANDS):
            chunk = self.signature[b * ROWS * 4:(b + 1) * ROWS * 4]
            digest = hashlib.blake2b(bytes([b]) + chunk, digest_size=8).digest()
            keys.append(int.from_bytes(digest, "little", signed=True))
        return keys


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def fingerprint(text: str) -> Fingerprint:
    tokens = words(text)
    k = SHINGLE if len(tokens) >= SHINGLE else 1
    grams = {" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1)} or {""}
    np, _A, _B = _numpy()
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
         for g in grams), dtype=np.uint64, count=len(grams))
    # multiply-shift hashing (Dietzfelbinger et al.): ((a*x + b) mod 2^64) >> 32
    with np.errstate(over="ignore"):
        mixed = (hashes[None, :] * _A[:, None] + _B[:, None]) >> np.uint64(32)
    signature = mixed.min(axis=1).astype("<u4").tobytes()
    return Fingerprint(signature=signature, words=len(tokens))


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures."""
    np = _numpy()[0]
    x = np.frombuffer(a, dtype="<u4")
    y = np.frombuffer(b, dtype="<u4")
    return float(np.count_nonzero(x == y)) / len(x)


NEAR_DUPLICATE = 0.4     # estimated Jaccard at or above which two stories are one
NEAR_DUPLICATE_SHORT = 0.55   # bench/near_dup.py: P 0.991 R 0.998 on 441 dup / 440 non-dup pairs


VERY_SHORT_WORDS = 25    # below this (not in the measured set, which starts at ~40 words) ...
NEAR_DUPLICATE_VERY_SHORT = 0.8   # ... keep the strict rule
MIN_WORDS = 10           # below this there is too little text to call two stories one


def is_near_duplicate(a: Fingerprint, b: Fingerprint) -> tuple[bool, float]:
    sim = similarity(a.signature, b.signature)
    if min(a.words, b.words) < MIN_WORDS:   # e.g. two title-only stories: identity by URL only
        return False, sim
    fewest = min(a.words, b.words)
    if fewest < VERY_SHORT_WORDS:   # a one-sentence brief: one changed fact is a new story
        return sim >= NEAR_DUPLICATE_VERY_SHORT, sim
    return sim >= (NEAR_DUPLICATE_SHORT if fewest < SHORT_WORDS else NEAR_DUPLICATE), sim


# ---------------------------------------------------------------------------------------------
# Titles: the same headline from the same outlet within days is the same story.

_TITLE_PREFIX = re.compile(
    r"^\s*(?:(?:updated|update)(?:\s*\d+)?\s*[-:–—]|(?:updated|update)\s*\d+\s+|"
    r"\(\s*(?:lead|\d+(?:st|nd|rd|th)\s+ld|urgent|recasts?|adds?)\s*\)|"
    r"(?:lead|urgent)\s*[:\-–—]|live\s*[:\-–—]|exclusive\s*[:\-–—]|breaking(?:\s+news)?\s*[:\-–—]|"
    r"watch\s*[:\-–—]|analysis\s*[:\-–—]|opinion\s*[:|\-–—]|explainer\s*[:\-–—])\s*",
    re.IGNORECASE)
_PIPE = re.compile(r"\s*\|\s*")
_DASH = re.compile(r"\s+[-–—]\s+")
_OUTLETISH = re.compile(
    r"\b(?:news|times|post|herald|tribune|journal|agency|daily|press|guardian|telegraph|"
    r"reuters|bbc|cnn|nbc|cbs|abc|ap|afp|tass|ria|yonhap|kcna|nk|dw|france\s*24|al\s*jazeera|"
    r"\w+\.(?:com|org|net|co\.\w+|ru|kr))\b", re.IGNORECASE)


def normalize_title(title: str, outlet: str | None = None) -> str:
    """Headline → a comparison key: outlet names and separators ("Headline | Outlet",
    "Outlet - Headline"), "UPDATE 2-", "(LEAD)", "LIVE:", "EXCLUSIVE:" and the like, case and
    punctuation removed."""
    text = unicodedata.normalize("NFKC", title).strip()
    for _ in range(4):   # prefixes can stack: "UPDATE 2-EXCLUSIVE-..."
        stripped = _TITLE_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    outlet_key = " ".join(words(outlet or ""))

    def is_outlet(segment: str) -> bool:
        key = " ".join(words(segment))
        return bool(outlet_key and key == outlet_key) or (
            len(key.split()) <= 4 and bool(_OUTLETISH.search(segment)))

    # "Headline | Outlet | Section": drop the outlet's own segments first, then the headline is
    # the longest part left
    parts = [p for p in _PIPE.split(text) if p.strip()]
    if len(parts) > 1:
        kept = [p for p in parts if not is_outlet(p)] or parts
        text = max(kept, key=len)
    # "Headline - Outlet" / "Outlet - Headline": drop an end segment only when it names an outlet
    # ("Kim - Putin summit" keeps both sides)
    parts = _DASH.split(text)
    if len(parts) > 1 and is_outlet(parts[-1]):
        parts = parts[:-1]
    if len(parts) > 1 and is_outlet(parts[0]):
        parts = parts[1:]
    return " ".join(words(" ".join(parts)))


def near_duplicate_groups(texts: dict[str, str]) -> list[list[tuple[str, str, float]]]:
    """Group texts (name → body) that are near-duplicates of one another, in memory.

    Returns groups of (name, the member it matched, similarity), the first member matching
    itself with 1.0; groups and members in name order. For replaying a corpus (`monitor dedup
    --check`), not for the append path, which uses the persistent index."""
    names = sorted(texts)
    fps = {n: fingerprint(texts[n]) for n in names}
    buckets: dict[int, list[str]] = {}
    for n in names:
        if fps[n].words < MIN_WORDS:   # too little text: never grouped (and all bands equal)
            continue
        for key in fps[n].bands():
            buckets.setdefault(key, []).append(n)
    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    best: dict[str, tuple[str, float]] = {}
    checked: set[tuple[str, str]] = set()
    for members in buckets.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if (a, b) in checked:
                    continue
                checked.add((a, b))
                dup, sim = is_near_duplicate(fps[a], fps[b])
                if dup:
                    parent[root(b)] = root(a)
                    if sim > best.get(b, ("", 0.0))[1]:
                        best[b] = (a, sim)
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(root(n), []).append(n)
    out = []
    for members in groups.values():
        if len(members) > 1:
            members.sort()
            out.append([(members[0], members[0], 1.0)] + [
                (m, *best.get(m, (members[0], similarity(fps[m].signature,
                                                          fps[members[0]].signature))))
                for m in members[1:]])
    return sorted(out)
