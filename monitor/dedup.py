"""Story identity: canonical URLs and the story id derived from them.

This is identity by URL only: the same link, the same link with tracking parameters, the page's own
rel=canonical. Near-duplicate text across outlets is a separate stage (not built yet).
Pure functions; no I/O.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import string
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

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
    fragment, no tracking parameters, query sorted, path percent-encoding normalised."""
    parts = urlsplit(url.strip())
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
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


def normalize_escapes(path: str) -> str:
    """RFC 3986 §6.2.2: upper-case percent escapes, decode those of unreserved characters only,
    and percent-encode raw non-ASCII or unsafe characters. Escapes such as %2F and %25 stay."""
    def one(m: re.Match) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()
    return quote(_ESCAPE.sub(one, path), safe="/:@!$&'()*+,;=-._~%")


def story_id(canonical: str) -> str:
    """16 lower-case hex digits: the start of the SHA-256 of the canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def site_of(url: str) -> str:
    """The registrable part of a URL's host, approximately: www.bbc.co.uk → bbc.co.uk."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
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
