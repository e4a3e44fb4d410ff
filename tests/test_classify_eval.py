"""The topic classifier against the labelled evaluation sets.

Targets (the issue): precision >= 0.97 and recall >= 0.98 on clearly labelled stories (ambiguous
excluded), and recall >= 0.95 in each language. Measured on whole stories (title + summary +
text) with `classify(fields)` and the default topic, by bench/classify_eval.py:

  holdout  tests/data/topic_holdout.json    (en, ru, ko; written blind by writers who never saw
                                             the classifier, in two batches: batch 2, split
                                             "holdout", was never tuned on: the targets' proof;
                                             batch 1 was measured blind, then tuned on)
  written  tests/data/topic_eval.json       (en, ru, ko; always present)
  real     tests/data/topic_eval_real.json  (real items in ../shared/fixtures/real; skipped when
                                             absent)

The "test" halves of `written` and `real` were held out until 2026-12-03, when their errors had
been read and the classifier was tuned on them too: their tests below are regression guards now,
not evidence. The held-out figure is the holdout set's.

Every target is met today; a change that breaks one fails here. Full figures:
.venv/bin/python bench/classify_eval.py --set holdout --split holdout
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter

import pytest

from tests.conftest import DATA, REAL, ROOT

_spec = importlib.util.spec_from_file_location("classify_eval", ROOT / "bench" / "classify_eval.py")
ev = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("classify_eval", ev)     # dataclasses look their module up there
_spec.loader.exec_module(ev)

PRECISION, RECALL, RECALL_PER_LANG = 0.97, 0.98, 0.95

needs_real = pytest.mark.skipif(not REAL.is_dir(),
                                reason="../shared/fixtures/real is not present on this machine")


@pytest.fixture(scope="module")
def holdout() -> dict:
    items = ev.load_written(ev.HOLDOUT, "holdout")
    return ev.metrics([it for it in items if it.split == "holdout"], "full")


@pytest.fixture(scope="module")
def written() -> dict:
    items = [it for it in ev.load_written() if it.split == "test"]
    return ev.metrics(items, "full")


@pytest.fixture(scope="module")
def real() -> dict:
    items, problems = ev.load_real(shared=REAL.parent.parent)
    assert not problems, problems
    return ev.metrics([it for it in items if it.split == "test"], "full")


def show(m: dict) -> str:
    """The figures and the misclassified ids, for the assertion message."""
    c = m["counts"]
    wrong = "; ".join(f"{r.item.id} {r.item.title[:50]!r} ({r.reason})" for r in m["errors"])
    return (f"P {c.precision:.3f} R {c.recall:.3f} (tp {c.tp} fn {c.fn} fp {c.fp} tn {c.tn}); "
            f"misclassified: {wrong}")


# --- the targets, on each set ----------------------------------------------------------------------
# holdout: batch 2, blind, never tuned on (the evidence); written and real: their test halves,
# tuned on since 2026-12-03 (regression guards). Real items are English only.

SETS = ["holdout", "written", pytest.param("real", marks=needs_real)]


@pytest.mark.parametrize("which", SETS)
def test_precision(request, which):
    m = request.getfixturevalue(which)
    assert m["precision"] >= PRECISION, show(m)


@pytest.mark.parametrize("which", SETS)
def test_recall(request, which):
    m = request.getfixturevalue(which)
    assert m["recall"] >= RECALL, show(m)


@pytest.mark.parametrize("which", SETS)
def test_recall_in_each_language(request, which):
    m = request.getfixturevalue(which)
    langs = {lg: r for lg, r in m["recall_by_lang"].items() if r is not None}
    expected = {"en"} if which == "real" else {"en", "ru", "ko"}
    assert set(langs) == expected, langs
    assert all(r >= RECALL_PER_LANG for r in langs.values()), (langs, show(m))


# --- the sets themselves ------------------------------------------------------------------------


def test_written_set_is_complete_and_well_formed():
    raw = json.loads((DATA / "topic_eval.json").read_text(encoding="utf-8"))["items"]
    assert len(raw) >= 200
    assert len({it["id"] for it in raw}) == len(raw)
    for it in raw:
        assert it["lang"] in ("en", "ru", "ko"), it["id"]
        assert it["label"] in ev.LABELS and it["kind"] in ev.KINDS[:5], it["id"]
        assert it["split"] in ("tune", "test") and it["source"] == "written", it["id"]
        assert it["title"].strip() and isinstance(it["summary"], str), it["id"]
        assert (it["label"] == "relevant") == (it["kind"] == "relevant") or it["kind"] == "mention"
    rel = Counter(it["lang"] for it in raw if it["label"] == "relevant")
    assert rel["en"] >= 50 and rel["ru"] >= 25 and rel["ko"] >= 25, rel
    assert any(it["text"] == "" for it in raw if it["label"] == "relevant")   # headline-only
    for kind in ("ru_only", "nk_only", "trap"):
        by_lang = Counter(it["lang"] for it in raw if it["kind"] == kind)
        assert sum(by_lang.values()) >= 15 and set(by_lang) == {"en", "ru", "ko"}, (kind, by_lang)
    assert sum(it["label"] == "ambiguous" for it in raw) >= 10
    # about half of each (lang, kind) stratum in each split
    strata = Counter((it["lang"], it["kind"], it["split"]) for it in raw)
    for lang, kind, _ in strata:
        assert abs(strata[(lang, kind, "tune")] - strata[(lang, kind, "test")]) <= 2, (lang, kind)


def test_holdout_set_is_complete_and_well_formed():
    raw = json.loads((DATA / "topic_holdout.json").read_text(encoding="utf-8"))["items"]
    assert len(raw) >= 150 and len({it["id"] for it in raw}) == len(raw)
    for it in raw:
        assert it["lang"] in ("en", "ru", "ko") and it["batch"] in (1, 2), it["id"]
        assert it["split"] == ("tune" if it["batch"] == 1 else "holdout"), it["id"]
        assert it["label"] in ev.LABELS and it["kind"] in ev.KINDS, it["id"]
        assert (it["label"] == "relevant") == (it["kind"] == "relevant"), it["id"]
        assert it["title"].strip() and it["source"] == "written-blind", it["id"]
    held = [it for it in raw if it["split"] == "holdout"]
    assert len(held) >= 150
    rel = Counter(it["lang"] for it in held if it["label"] == "relevant")
    assert min(rel["en"], rel["ru"], rel["ko"]) >= 20, rel
    for kind in ("ru_only", "nk_only", "trap", "mention"):
        assert {it["lang"] for it in held if it["kind"] == kind} == {"en", "ru", "ko"}, kind


@needs_real
def test_every_real_label_finds_its_fixture_item():
    entries = json.loads((DATA / "topic_eval_real.json").read_text(encoding="utf-8"))["items"]
    items, problems = ev.load_real(shared=REAL.parent.parent)
    assert problems == [] and len(items) == len(entries)
    assert len({it.id for it in items}) == len(items)
    assert all(it.title for it in items)
