"""Extraction quality and speed on the real article fixtures (60 news pages from the scrapinghub
article-extraction-benchmark, copied into ../shared/fixtures/real/articles/).

For every page and every extractor variant: the extracted text is compared with the benchmark's
`articleBody` as bags of words (lowercased \\w+ tokens, with counts): precision = shared tokens /
extracted tokens, recall = shared tokens / reference tokens, F1 their harmonic mean. A page whose
extraction raises or returns no text counts as a failure and scores P = R = F1 = 0. The table also
gives the benchmark's own figure, "SH-F1": case-sensitive 4-token shingles, per-page normalised,
F1 of the mean precision and mean recall (scrapinghub evaluate.py), for comparison with published
numbers. Time is wall-clock per page, one warm-up call per variant not counted.

    .venv/bin/python bench/extract_quality.py                  # all variants that import
    .venv/bin/python bench/extract_quality.py --variants monitor,traf-default --worst 8
    .venv/bin/python bench/extract_quality.py --compare-rev HEAD   # add monitor/extract.py at a rev
    .venv/bin/python bench/extract_quality.py --show KEY --variants monitor   # junk on one page

Variants besides `monitor` and trafilatura's need optional packages (readability-lxml, goose3,
newspaper4k, boilerpy3, resiliparse); a variant whose package is missing is listed as skipped.
They are for measurement only: the project does not depend on them.
Writes nothing unless --json PATH is given. Exits 0 with a SKIP line when ../shared is absent.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import json
import re
import socket
import statistics
import subprocess
import sys
import time
import types
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT.parent / "shared" / "fixtures" / "real" / "articles"
sys.path.insert(0, str(ROOT))

_TOKEN = re.compile(r"\w+")


# ---------------------------------------------------------------- scoring

def bag_prf(pred: str, true: str) -> tuple[float, float, float]:
    """Bag-of-words precision, recall, F1 (lowercase \\w+ tokens with counts)."""
    p_tokens = Counter(_TOKEN.findall(pred.lower()))
    t_tokens = Counter(_TOKEN.findall(true.lower()))
    n_pred, n_true = sum(p_tokens.values()), sum(t_tokens.values())
    if n_pred == 0 or n_true == 0:
        return (0.0, 0.0, 0.0) if n_pred or n_true else (1.0, 1.0, 1.0)
    tp = sum((p_tokens & t_tokens).values())
    p, r = tp / n_pred, tp / n_true
    return p, r, (2 * p * r / (p + r) if tp else 0.0)


def shingle_tp_fp_fn(pred: str, true: str, n: int = 4) -> tuple[float, float, float]:
    """scrapinghub article-extraction-benchmark string_shingle_matching (case kept)."""
    def shingles(text: str) -> Counter:
        toks = _TOKEN.findall(text or "")
        return Counter(tuple(toks[i:i + n]) for i in range(max(1, len(toks) - n + 1))
                       if toks[i:i + n])
    ps, ts = shingles(pred), shingles(true)
    tp = sum((ps & ts).values())
    fp = sum((ps - ts).values())
    fn = sum((ts - ps).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def shingle_f1(triples: list[tuple[float, float, float]]) -> float:
    def prec(tp, fp, fn):
        return 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)

    def rec(tp, fp, fn):
        return 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)
    ps = [prec(*t) for t in triples if t[0] + t[1] > 0]
    rs = [rec(*t) for t in triples if t[0] + t[2] > 0]
    p = statistics.mean(ps) if ps else 0.0
    r = statistics.mean(rs) if rs else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


# ---------------------------------------------------------------- variants

def _decode(page: bytes) -> str:
    """The page as text for the extractors that want str (trafilatura's own charset guess)."""
    from trafilatura.utils import decode_file
    return decode_file(page)


_BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
          "tr", "td", "th", "section", "article", "figure", "figcaption", "ul", "ol", "table"}


def _html_to_text(fragment: str) -> str:
    """Text of an HTML fragment with a line break after every block element."""
    from lxml import html as lxml_html
    if not fragment.strip():
        return ""
    tree = lxml_html.fromstring(fragment)
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK:
            el.tail = "\n" + (el.tail or "")
    return "\n".join(" ".join(line.split()) for line in tree.text_content().split("\n")
                     if line.strip())


def _monitor_from(module):
    def run(page: bytes, url: str) -> str:
        return "\n".join(module.extract_article(page, url).paragraphs)
    return run


def _traf(**options):
    def run(page: bytes, url: str) -> str:
        import trafilatura
        return trafilatura.extract(page, url=url, **options) or ""
    return run


def _readability(page: bytes, url: str) -> str:
    from readability import Document
    return _html_to_text(Document(_decode(page), url=url).summary(html_partial=True))


def _goose(page: bytes, url: str) -> str:
    from goose3 import Goose
    with Goose({"enable_image_fetching": False, "http_timeout": 0.001}) as g:
        return g.extract(url=None, raw_html=_decode(page)).cleaned_text or ""


def _newspaper(page: bytes, url: str) -> str:
    import newspaper
    a = newspaper.Article(url, fetch_images=False)
    a.download(input_html=_decode(page))
    a.parse()
    return a.text or ""


def _boilerpy(page: bytes, url: str) -> str:
    from boilerpy3 import extractors
    return extractors.ArticleExtractor(raise_on_failure=False).get_content(_decode(page)) or ""


def _resiliparse(page: bytes, url: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree
    return extract_plain_text(HTMLTree.parse(_decode(page)), main_content=True,
                              alt_texts=False, links=False, list_bullets=False)


def _justext(page: bytes, url: str) -> str:
    import justext   # English stoplist for every page: non-English pages are expected to fail
    return "\n".join(p.text for p in justext.justext(page, justext.get_stoplist("English"))
                     if not p.is_boilerplate)


# name -> (module that must import, function, description)
VARIANTS: dict[str, tuple[str | None, object, str]] = {
    "monitor": (None, None, "monitor.extract.extract_article (working tree)"),
    "traf-default": ("trafilatura", _traf(), "trafilatura.extract defaults"),
    "traf-precision": ("trafilatura", _traf(favor_precision=True), "favor_precision=True"),
    "traf-recall": ("trafilatura", _traf(favor_recall=True), "favor_recall=True"),
    "traf-monitor-opts": ("trafilatura", _traf(favor_precision=True, include_comments=False,
                                               include_tables=False, deduplicate=False),
                          "trafilatura with monitor's options, without its cleaning pass"),
    "readability": ("readability", _readability, "readability-lxml Document.summary"),
    "goose3": ("goose3", _goose, "goose3 cleaned_text"),
    "newspaper4k": ("newspaper", _newspaper, "newspaper4k Article.text"),
    "boilerpy3": ("boilerpy3", _boilerpy, "boilerpy3 ArticleExtractor"),
    "resiliparse": ("resiliparse", _resiliparse, "resiliparse main_content=True"),
    "justext": ("justext", _justext, "jusText, English stoplist"),
}


def _monitor_at_rev(rev: str):
    """monitor/extract.py as it was at git revision `rev`, loaded as a separate module."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:monitor/extract.py"],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"monitor_extract_at_{rev}")
    exec(compile(source, f"{rev}:monitor/extract.py", "exec"), module.__dict__)
    return module


# ---------------------------------------------------------------- running

@contextlib.contextmanager
def _no_network():
    """Refuse every connection but loopback while the extractors run: some of them (goose3,
    newspaper4k, tldextract) can fetch things, and a benchmark must measure the local work only."""
    real_connect = socket.socket.connect

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost")
                                      or sock.family == socket.AF_UNIX):
            return real_connect(sock, address)
        raise OSError(f"network access refused by the benchmark: {address!r}")
    socket.socket.connect = connect
    try:
        yield
    finally:
        socket.socket.connect = real_connect


def load_pages() -> list[tuple[str, bytes, str, str]]:
    truth = json.loads((ARTICLES / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for path in sorted((ARTICLES / "html").glob("*.html.gz")):
        key = path.name.removesuffix(".html.gz")
        if key in truth:
            pages.append((key, gzip.decompress(path.read_bytes()), truth[key]["url"],
                          truth[key].get("articleBody") or ""))
    return pages


_WARM_UP = ("<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
            + "".join(f"<p>Paragraph {i} of a page that only loads the extractor's code and "
                      "tables, so that the first real page is not charged for them.</p>"
                      for i in range(8)) + "</article></body></html>").encode()


def _reset_trafilatura() -> None:
    """Forget trafilatura's process-wide caches (its `deduplicate` LRU among them), so that one
    variant's runs do not change the next one's results."""
    try:
        from trafilatura.meta import reset_caches
    except ImportError:
        return
    reset_caches()


def run_variant(fn, pages) -> list[dict]:
    _reset_trafilatura()
    try:
        fn(_WARM_UP, "https://example.org/warm-up")   # not timed, not scored
    except Exception:
        pass
    rows = []
    for key, page, url, body in pages:
        error = None
        t0 = time.perf_counter()
        try:
            text = fn(page, url) or ""
        except Exception as e:   # any extractor failure counts as a failed page
            text, error = "", f"{type(e).__name__}: {e}"[:200]
        ms = (time.perf_counter() - t0) * 1000
        failed = error is not None or not text.strip()
        p, r, f = (0.0, 0.0, 0.0) if failed else bag_prf(text, body)
        rows.append({"key": key, "url": url, "p": p, "r": r, "f1": f, "ms": ms, "failed": failed,
                     "error": error, "text": text,
                     "sh": shingle_tp_fp_fn("" if failed else text, body)})
    return rows


def summarise(rows: list[dict]) -> dict:
    ms = sorted(r["ms"] for r in rows)
    p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
    return {"n": len(rows), "P": statistics.mean(r["p"] for r in rows),
            "R": statistics.mean(r["r"] for r in rows),
            "F1": statistics.mean(r["f1"] for r in rows),
            "medF1": statistics.median(r["f1"] for r in rows),
            "SH_F1": shingle_f1([r["sh"] for r in rows]),
            "fail": sum(r["failed"] for r in rows),
            "ms_med": statistics.median(ms), "ms_p95": p95}


def junk_tokens(text: str, body: str, top: int = 25) -> list[tuple[str, int]]:
    extra = Counter(_TOKEN.findall(text.lower())) - Counter(_TOKEN.findall(body.lower()))
    return extra.most_common(top)


def junk_lines(text: str, body: str) -> list[str]:
    """Extracted lines whose words are mostly absent from the reference text."""
    ref = Counter(_TOKEN.findall(body.lower()))
    out = []
    for line in text.split("\n"):
        toks = _TOKEN.findall(line.lower())
        if toks and sum(1 for t in toks if t not in ref) / len(toks) > 0.5:
            out.append(line)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", help="comma-separated subset of: " + ", ".join(VARIANTS))
    ap.add_argument("--compare-rev", action="append", default=[], metavar="REV",
                    help="also run monitor/extract.py as of this git revision (repeatable)")
    ap.add_argument("--worst", type=int, default=0, metavar="N",
                    help="list the N lowest-precision pages of each variant")
    ap.add_argument("--show", metavar="KEY", help="print extracted junk lines for one page key")
    ap.add_argument("--json", type=Path, help="write per-page results here")
    args = ap.parse_args(argv)

    if not (ARTICLES / "ground-truth.json").is_file() or not (ARTICLES / "html").is_dir():
        print(f"SKIP: article fixtures not found at {ARTICLES} "
              "(../shared/fixtures/real/articles is absent on this machine)")
        return 0
    pages = load_pages()
    if args.show:
        pages = [p for p in pages if p[0].startswith(args.show)] or sys.exit(f"no page {args.show}")

    names = args.variants.split(",") if args.variants else list(VARIANTS)
    runners: dict[str, tuple[object, str]] = {}
    for name in names:
        if name not in VARIANTS:
            sys.exit(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
        module, fn, desc = VARIANTS[name]
        if name == "monitor":
            import monitor.extract
            fn = _monitor_from(monitor.extract)
        elif importlib.util.find_spec(module) is None:
            print(f"skipped {name}: package {module!r} is not installed ({desc})")
            continue
        runners[name] = (fn, desc)
    for rev in args.compare_rev:
        runners[f"monitor@{rev}"] = (_monitor_from(_monitor_at_rev(rev)),
                                     f"monitor/extract.py at {rev}")

    results: dict[str, list[dict]] = {}
    with _no_network():
        for name, (fn, _desc) in runners.items():
            results[name] = run_variant(fn, pages)

    print(f"\n{len(pages)} pages from {ARTICLES}")
    print("bag-of-words P/R/F1 = means over pages (failures score 0); SH-F1 = scrapinghub "
          "4-shingle F1\n")
    header = (f"{'variant':<20} {'P':>6} {'R':>6} {'F1':>6} {'medF1':>6} {'SH-F1':>6} "
              f"{'fail':>5} {'ms med':>7} {'ms p95':>7}")
    print(header)
    print("-" * len(header))
    for name, rows in results.items():
        s = summarise(rows)
        print(f"{name:<20} {s['P']:6.3f} {s['R']:6.3f} {s['F1']:6.3f} {s['medF1']:6.3f} "
              f"{s['SH_F1']:6.3f} {s['fail']:5d} {s['ms_med']:7.1f} {s['ms_p95']:7.1f}")
    for name, (_fn, desc) in runners.items():
        print(f"  {name:<18} {desc}")

    for name, rows in results.items():
        failed = [r for r in rows if r["failed"]]
        if failed and (args.worst or args.show):
            print(f"\n{name}: failed pages")
            for r in failed:
                print(f"  {r['key'][:12]} {r['url']}  {r['error'] or 'empty text'}")
        if args.worst:
            print(f"\n{name}: {args.worst} lowest-precision pages")
            for r in sorted(rows, key=lambda r: r["p"])[:args.worst]:
                print(f"  {r['key'][:12]} P={r['p']:.3f} R={r['r']:.3f} F1={r['f1']:.3f} "
                      f"{r['url']}")
    if args.show:
        body = pages[0][3]
        for name, rows in results.items():
            print(f"\n=== {name}: {rows[0]['url']}  P={rows[0]['p']:.3f} R={rows[0]['r']:.3f}")
            for line in junk_lines(rows[0]["text"], body):
                print(f"  JUNK| {line[:200]}")
            print("  extra tokens:", junk_tokens(rows[0]["text"], body))
    if args.json:
        args.json.write_text(json.dumps(
            {name: {"summary": summarise(rows),
                    "pages": [{k: v for k, v in r.items() if k != "text"} for r in rows]}
             for name, rows in results.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
