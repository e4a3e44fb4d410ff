"""Unit tests for monitor.corpus: numbering, naming, rendering, atomic never-overwriting writes,
temp-file cleanup, the cross-process lock, and scanning."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from monitor.corpus import TEMP_PREFIX, Corpus, clean_line, render
from monitor.errors import CorpusError, LockError
from tests.conftest import ROOT

SID = "0123456789abcdef"
SID2 = "fedcba9876543210"


def touch(directory: Path, name: str, text: str = "A title\nA paragraph") -> Path:
    p = directory / name
    p.write_text(text, encoding="utf-8")
    return p


# --- numbering and naming -----------------------------------------------------------------------


def test_empty_directory_numbers_from_000(tmp_path):
    c = Corpus(tmp_path)
    assert c.scan() == []
    assert c.next_number() == 0
    assert c.file_name(c.next_number(), SID) == f"000_{SID}.txt"


def test_missing_directory_scans_as_empty(tmp_path):
    c = Corpus(tmp_path / "not-yet")
    assert c.scan() == [] and c.next_number() == 0


def test_seeds_000_and_003_give_004(corpus):
    c = Corpus(corpus)
    assert [f.number for f in c.scan()] == [0, 3]
    assert c.next_number() == 4
    assert c.file_name(4, SID) == f"004_{SID}.txt"


def test_numbers_go_past_999_with_four_digits(tmp_path):
    touch(tmp_path, f"998_{SID}.txt")
    touch(tmp_path, f"999_{SID2}.txt")
    c = Corpus(tmp_path)
    assert c.next_number() == 1000
    name = c.file_name(1000, SID)
    assert name == f"1000_{SID}.txt"
    with c.lock():
        c.write(name, "Title", ["Body"])
    # ordered by number, not by name ("1000_" sorts before "998_" as text)
    assert [f.number for f in c.scan()] == [998, 999, 1000]
    assert c.next_number() == 1001
    assert c.file_name(12345, SID) == f"12345_{SID}.txt"


def test_gaps_and_hand_added_files_count(tmp_path):
    touch(tmp_path, f"007_{SID}.txt")
    touch(tmp_path, f"042_{SID2}.txt")          # a file a person added by hand
    assert Corpus(tmp_path).next_number() == 43


@pytest.mark.parametrize("story_id", ["0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0",
                                      "0123456789abcdeg", "../../etc/passwd", ""])
def test_file_name_refuses_a_bad_story_id(tmp_path, story_id):
    with pytest.raises(CorpusError):
        Corpus(tmp_path).file_name(5, story_id)


def test_scan_ignores_non_corpus_files(tmp_path):
    keep = [f"000_{SID}.txt", f"005_{SID2}.txt", f"1234_{SID}.txt"]
    for name in keep:
        touch(tmp_path, name)
    for name in ["README.md", "notes.txt", f"12_{SID}.txt", f"005_{SID.upper()}.txt",
                 f"005_{SID[:-1]}.txt", f"005_{SID}.txt.bak", f"005_{SID}.TXT", f"x005_{SID}.txt",
                 f"005-{SID}.txt", f"{TEMP_PREFIX}123-006_{SID}.txt", f".006_{SID}.txt",
                 f"099_{SID}.txt~"]:
        touch(tmp_path, name)
    files = Corpus(tmp_path).scan()
    assert [f.name for f in files] == keep
    assert [(f.number, f.story_id) for f in files] == [(0, SID), (5, SID2), (1234, SID)]
    assert Corpus(tmp_path).next_number() == 1235


def test_scan_ignores_names_with_non_ascii_digits(tmp_path):
    touch(tmp_path, f"\u0660\u0660\u0667_{SID}.txt")
    touch(tmp_path, f"\uff10\uff10\uff18_{SID2}.txt")
    assert Corpus(tmp_path).scan() == []


# --- render -------------------------------------------------------------------------------------


def test_render_is_title_then_paragraphs_without_trailing_newline():
    text = render("A title", ["First paragraph.", "Second paragraph."])
    assert text == "A title\nFirst paragraph.\nSecond paragraph."
    assert not text.endswith("\n")
    assert render("A title\n", ["Last paragraph.\n", "\n"]) == "A title\nLast paragraph."
    assert render("Only a title", []) == "Only a title"


@pytest.mark.parametrize("title", [
    "Line one\nline two", "Carriage\rreturn", "Crlf\r\nhere", "Tab\there", "Nul\x00byte",
    "Bell\x07and\x1bescape", "Del\x7fchar", "C1\x85next-line", "Line\u2028separator",
    "Para\u2029separator", "Zero\u200bwidth", "\ufeffBOM first", "  many    spaces  ",
    "Vertical\x0btab", "Form\x0cfeed",
])
def test_render_gives_one_clean_first_line(title):
    text = render(title, ["Body."])
    first, rest = text.split("\n", 1)
    assert rest == "Body."
    assert first == first.strip() and "  " not in first and first
    assert all(ch.isprintable() for ch in first), repr(first)
    assert not any(ch in first for ch in "\r\n\t\x0b\x0c\x85\u2028\u2029\u200b\ufeff")


def test_render_joins_words_around_removed_breaks():
    assert render("Russia and\nNorth Korea\r\nsign pact", ["x"]).split("\n")[0] == \
        "Russia and North Korea sign pact"


def test_render_drops_empty_paragraphs_and_puts_each_paragraph_on_one_line():
    text = render("T", ["", "  ", "One\ntwo", "\x00", "Three"])
    assert text.split("\n") == ["T", "One two", "Three"]


def test_render_keeps_non_latin_text_and_normalises_to_nfc():
    text = render("Путин и Ким Чен Ын", ["북한과 러시아", "Cafe\u0301"])
    assert text.split("\n") == ["Путин и Ким Чен Ын", "북한과 러시아", "Café"]


@pytest.mark.parametrize("title", ["", "   ", "\n\r\t", "\x00\x01"])
def test_render_refuses_a_story_without_a_title(title):
    with pytest.raises(CorpusError):
        render(title, ["Body"])


def test_clean_line():
    assert clean_line(" a\nb\t c ") == "a b c"


# --- write --------------------------------------------------------------------------------------


def test_write_creates_the_file_with_the_rendered_text(tmp_path):
    c = Corpus(tmp_path / "corpus")
    with c.lock():
        name = c.file_name(c.next_number(), SID)
        c.write(name, "Title\nwith break", ["P1", "P2"])
    path = tmp_path / "corpus" / name
    assert path.read_bytes() == "Title with break\nP1\nP2".encode("utf-8")
    assert c.read(name) == "Title with break\nP1\nP2"
    assert c.title_of(name) == "Title with break"
    assert [f.name for f in c.scan()] == [f"000_{SID}.txt"]


def test_write_never_overwrites_an_existing_file(tmp_path):
    original = touch(tmp_path, f"004_{SID}.txt", "Seed title\nSeed body")
    before = original.stat()
    c = Corpus(tmp_path)
    with c.lock(), pytest.raises(CorpusError, match="already exists"):
        c.write(f"004_{SID}.txt", "Another title", ["Another body"])
    assert original.read_text(encoding="utf-8") == "Seed title\nSeed body"
    after = original.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # and leaves no temp file behind
    assert sorted(os.listdir(tmp_path)) == [f"004_{SID}.txt"]


def test_write_of_an_untitled_story_leaves_nothing(tmp_path):
    c = Corpus(tmp_path)
    with pytest.raises(CorpusError):
        c.write(f"000_{SID}.txt", "", ["Body"])
    assert os.listdir(tmp_path) == []


def test_write_into_a_missing_directory_is_a_corpus_error(tmp_path):
    c = Corpus(tmp_path / "missing")
    with pytest.raises(CorpusError):
        c.write(f"000_{SID}.txt", "T", ["B"])


def test_written_files_are_utf8_without_bom(tmp_path):
    c = Corpus(tmp_path)
    c.write(f"000_{SID}.txt", "КНДР", ["북한"])
    raw = (tmp_path / f"000_{SID}.txt").read_bytes()
    assert raw == "КНДР\n북한".encode("utf-8")


# --- temp files ---------------------------------------------------------------------------------


def test_remove_temp_files_deletes_only_temp_files(tmp_path):
    keep = [touch(tmp_path, f"000_{SID}.txt"), touch(tmp_path, "README.md"),
            touch(tmp_path, ".hidden")]
    temps = [touch(tmp_path, f"{TEMP_PREFIX}4242-001_{SID}.txt", "half a sto"),
             touch(tmp_path, f"{TEMP_PREFIX}1-002_{SID2}.txt", "")]
    c = Corpus(tmp_path)
    with c.lock():
        assert c.remove_temp_files() == 2
        assert c.remove_temp_files() == 0
    assert all(p.exists() for p in keep)
    assert not any(p.exists() for p in temps)
    assert [f.name for f in c.scan()] == [f"000_{SID}.txt"]


def test_a_left_over_temp_file_does_not_count_as_a_story(tmp_path):
    touch(tmp_path, f"{TEMP_PREFIX}99-007_{SID}.txt", "partial")
    c = Corpus(tmp_path)
    assert c.next_number() == 0


# --- lock ---------------------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys
    from monitor.corpus import Corpus
    with Corpus(sys.argv[1]).lock():
        print("locked", flush=True)
        sys.stdin.readline()          # hold the lock until the parent says so (or closes stdin)
    print("released", flush=True)
""")


def start_holder(directory: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory)], cwd=str(ROOT),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    if not ready:
        proc.kill()
        proc.wait(5)
        pytest.fail("the lock-holding process did not start within 15 s")
    assert proc.stdout.readline().strip() == "locked"
    return proc


def stop_holder(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_lock_excludes_a_second_process_with_a_bounded_wait(tmp_path):
    holder = start_holder(tmp_path)
    try:
        c = Corpus(tmp_path, lock_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(LockError) as info:
            with c.lock():
                pytest.fail("got the lock while another process holds it")
        waited = time.monotonic() - started
        assert 0.25 <= waited < 3.0
        assert str(tmp_path) in str(info.value)
    finally:
        stop_holder(holder)
    assert holder.returncode == 0
    # released when the holder is done: now it is ours at once
    started = time.monotonic()
    with Corpus(tmp_path, lock_timeout=5).lock():
        assert time.monotonic() - started < 1.0


def test_lock_waits_for_a_holder_that_releases_in_time(tmp_path):
    holder = start_holder(tmp_path)
    try:
        c = Corpus(tmp_path, lock_timeout=10)
        holder.stdin.write("go\n")
        holder.stdin.flush()
        started = time.monotonic()
        with c.lock():
            assert time.monotonic() - started < 8
    finally:
        stop_holder(holder)


def test_lock_is_released_after_the_block_even_on_error(tmp_path):
    c = Corpus(tmp_path, lock_timeout=0.2)
    with pytest.raises(RuntimeError):
        with c.lock():
            raise RuntimeError("boom")
    with c.lock():
        pass


def test_lock_creates_the_directory(tmp_path):
    c = Corpus(tmp_path / "new" / "corpus", lock_timeout=1)
    with c.lock():
        assert (tmp_path / "new" / "corpus").is_dir()


WRITER = textwrap.dedent("""
    import sys
    from monitor.corpus import Corpus
    c = Corpus(sys.argv[1], lock_timeout=20)
    for i in range(int(sys.argv[3])):
        with c.lock():
            n = c.next_number()
            c.write(c.file_name(n, f"{int(sys.argv[2]):08x}{i:08x}"), f"story {i}", ["body"])
""")


def test_two_processes_appending_at_once_never_take_the_same_number(tmp_path):
    per_process = 25
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(k),
                               str(per_process)], cwd=str(ROOT),
                              env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    try:
        for p in procs:
            _, err = p.communicate(timeout=30)
            assert p.returncode == 0, err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
    files = Corpus(tmp_path).scan()
    assert [f.number for f in files] == list(range(2 * per_process))
    assert sorted(os.listdir(tmp_path)) == sorted(f.name for f in files)    # no temp files left
