"""The real CLI (a child process) in a hostile environment: a read-only or misplaced corpus, a full
disk, a corrupt, locked or unplaceable database, an unreadable config.

Each failure must be one clear line on standard error naming the problem (no traceback), exit
status 1 (2 for a config problem, as the README says), and leave nothing half done: no temp file in
the corpus, no `pending` row, the corpus and the database as they were, and a later normal run
finishes the job. Behaviour that does not hold today is a strict xfail whose reason names the bug.

Not here: a missing SMTP password variable (tests/test_digest_e2e.py,
test_starttls_with_login_password_from_environment, covers it).

Read-only corpus as root: root ignores permission bits, so when the tests run as root the corpus is
made read-only with the ext2/3/4 "immutable" inode flag (FS_IOC_SETFLAGS, what `chattr +i` does),
which binds root too; as another user, chmod 0o555. When neither works (no CAP_LINUX_IMMUTABLE, or
a file system without the flag, e.g. tmpfs) that test skips and says why; the corpus-is-a-file and
corpus-under-a-file cases run everywhere.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli, write_config
from tests.crashkit import (NAME_RE, SEED_BYTES, TEMP_PREFIX, check, child_env, feed,
                            make_stories, rows, serve)

# -- helpers -----------------------------------------------------------------------------------


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every entry of a directory (hidden ones too) with its bytes."""
    return {p.name: p.read_bytes() if p.is_file() else b"<dir>" for p in directory.iterdir()}


def one_line_error(r: subprocess.CompletedProcess, code: int, *names: str) -> str:
    """The command failed with `code`, and said why in one line that names each of `names`."""
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code, (r.returncode, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("monitor: "), r.stderr
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


def pending(db: Path) -> list[dict]:
    if not db.exists():
        return []
    return rows(db, "select id, file_name, status from stories where status != 'committed'")


def new_files(corpus: Path) -> list[str]:
    return sorted(n for n in os.listdir(corpus) if NAME_RE.match(n) and n not in SEED_BYTES)


def temp_files(corpus: Path) -> list[str]:
    return sorted(n for n in os.listdir(corpus) if n.startswith(TEMP_PREFIX))


def publish(server, count: int, tag: str):
    """`count` on-topic stories and their feed; returns (feed URL, {canonical URL: story})."""
    stories = make_stories(count, tag=tag)
    by_url = serve(server, stories)
    return feed(server, "/feed.xml", stories), by_url


FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_IMMUTABLE_FL = 0x80086601, 0x40086602, 0x10


def _set_immutable(path: Path, on: bool) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = bytearray(8)
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf)
        flags = struct.unpack_from("i", buf)[0]
        flags = flags | FS_IMMUTABLE_FL if on else flags & ~FS_IMMUTABLE_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", flags) + b"\0" * 4)
    finally:
        os.close(fd)


@contextmanager
def read_only(directory: Path):
    """Make `directory` read-only for this process's user — root included (see the docstring)."""
    if os.geteuid() != 0:
        os.chmod(directory, 0o555)
        try:
            yield "chmod 0o555"
        finally:
            os.chmod(directory, 0o755)
        return
    try:
        _set_immutable(directory, True)
    except OSError as e:
        pytest.skip(f"running as root, and the immutable flag cannot be set on {directory} "
                    f"({e}); root ignores chmod, so there is no read-only directory to test")
    try:
        yield "immutable flag"
    finally:
        _set_immutable(directory, False)


# -- the corpus --------------------------------------------------------------------------------


def test_read_only_corpus_directory_is_refused_clearly_and_nothing_is_lost(server, corpus,
                                                                          tmp_path):
    url, by_url = publish(server, 2, "ro")
    config = write_config(tmp_path, [url])
    before = snapshot(corpus)
    with read_only(corpus) as how:
        try:
            (corpus / "probe").write_text("x")
            pytest.fail(f"{how} did not make {corpus} read-only")
        except PermissionError:
            pass
        r = run_cli(config, "poll")
    one_line_error(r, 1, corpus, "not writable")
    assert snapshot(corpus) == before
    assert not pending(tmp_path / "state.db")
    assert server.count("/feed.xml") == 0, "nothing is fetched when nothing can be kept"
    # writable again: the next poll appends everything
    r = run_cli(config, "poll")
    assert r.returncode == 0, r.stderr
    check(corpus, tmp_path / "state.db", by_url, complete=True)


@pytest.mark.parametrize("where", ["a regular file", "under a regular file"])
def test_corpus_path_that_cannot_be_a_directory(server, tmp_path, where):
    url, _ = publish(server, 1, "file")
    blocker = tmp_path / "corpus.txt"
    blocker.write_text("not a directory\n")
    corpus_dir = blocker if where == "a regular file" else blocker / "corpus"
    config = write_config(tmp_path, [url], corpus_dir=str(corpus_dir))
    r = run_cli(config, "poll")
    one_line_error(r, 1, corpus_dir)
    assert blocker.read_text() == "not a directory\n"
    assert not pending(tmp_path / "state.db")


# -- a full disk -------------------------------------------------------------------------------

# The child process, with the disk "full" for corpus files only: os.write on a corpus temp file
# raises ENOSPC — at once ("first"), or after a short write of half the data ("partial"). Only the
# first ENOSPC_FILES temp files fail; later ones are written normally. The program is unchanged.
ENOSPC_WRAPPER = r"""
import errno, os, sys
mode, budget = os.environ["ENOSPC_MODE"], int(os.environ["ENOSPC_FILES"])
doomed, wrote = set(), set()
_open, _write, _close = os.open, os.write, os.close
def open_(path, flags, *a, **kw):
    fd = _open(path, flags, *a, **kw)
    global budget
    if os.path.basename(os.fspath(path)).startswith(".monitor-tmp-") and budget > 0:
        budget -= 1
        doomed.add(fd)
    return fd
def write(fd, data):
    if fd in doomed:
        if mode == "partial" and fd not in wrote and len(data) > 1:
            wrote.add(fd)
            return _write(fd, bytes(data[:len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return _write(fd, data)
def close(fd):
    doomed.discard(fd); wrote.discard(fd)
    return _close(fd)
os.open, os.write, os.close = open_, write, close
from monitor.cli import main
sys.argv[0] = "monitor"
raise SystemExit(main())
"""


def enospc_cmd(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", ENOSPC_WRAPPER, "-c", str(config), *args]


def run_full_disk(config: Path, *args: str, mode: str, files: int = 99):
    return subprocess.run(enospc_cmd(config, *args), capture_output=True, text=True, timeout=120,
                          cwd=str(ROOT), stdin=subprocess.DEVNULL,
                          env={**child_env(), "ENOSPC_MODE": mode, "ENOSPC_FILES": str(files)})


@pytest.mark.parametrize("mode", ["first", "partial"])
def test_full_disk_is_reported_and_a_later_poll_appends_the_stories(server, corpus, tmp_path,
                                                                   mode):
    url, by_url = publish(server, 2, f"full-{mode}")
    config = write_config(tmp_path, [url])
    db = tmp_path / "state.db"
    r = run_full_disk(config, "poll", mode=mode)
    assert "Traceback" not in r.stderr, r.stderr
    problems = [l for l in r.stderr.splitlines() if "No space left on device" in l]
    assert len(problems) == 2, r.stderr               # one line per story not written
    assert all(str(corpus) in l for l in problems), problems
    assert "0 new stories" in r.stdout, r.stdout
    # no story file (whole or partial), and no story is recorded as appended
    assert new_files(corpus) == []
    assert not rows(db, "select * from entries where decision = 'appended'")
    assert not rows(db, "select * from stories where status = 'committed' "
                        "and text_source != 'external'")
    # space again: the next ordinary poll appends both, and everything is consistent
    r = run_cli(config, "poll")
    assert r.returncode == 0 and "2 new stories" in r.stdout, r.stdout + r.stderr
    check(corpus, db, by_url, complete=True)


@pytest.mark.parametrize("mode", ["first", "partial"])
def test_full_disk_leaves_no_temp_file_and_no_pending_row(server, corpus, tmp_path, mode):
    url, _ = publish(server, 2, f"half-{mode}")
    config = write_config(tmp_path, [url])
    run_full_disk(config, "poll", mode=mode)
    assert temp_files(corpus) == []
    assert pending(tmp_path / "state.db") == []


def test_full_disk_in_the_daemon_does_not_lose_the_story(server, corpus, tmp_path):
    url, by_url = publish(server, 1, "daemon")
    config = write_config(tmp_path, [{"url": url, "interval": "2s"}])
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(enospc_cmd(config, "run"), cwd=str(ROOT), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**child_env(), "ENOSPC_MODE": "first", "ENOSPC_FILES": "1"})
    try:
        deadline = time.monotonic() + 45
        # the first poll fails to write; give the daemon two more polls to write it
        while server.count("/feed.xml") < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.count("/feed.xml") >= 3, log.read_text()
        time.sleep(1)   # let the third poll finish its append
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "No space left on device" in text, text
    assert len(new_files(corpus)) == 1, (new_files(corpus), text)
    assert [r["decision"] for r in rows(tmp_path / "state.db", "select decision from entries")] \
        == ["appended"]


# -- the database ------------------------------------------------------------------------------


def _random_bytes(tmp_path: Path, db: Path, config: Path) -> None:
    db.write_bytes(random.Random(7).randbytes(16384))


def _truncated(tmp_path: Path, db: Path, config: Path) -> None:
    assert run_cli(config, "poll").returncode == 0
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    db.write_bytes(db.read_bytes()[:1500])


def _garbage_after_header(tmp_path: Path, db: Path, config: Path) -> None:
    assert run_cli(config, "poll").returncode == 0
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[100:] = random.Random(8).randbytes(len(data) - 100)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_random_bytes, _truncated, _garbage_after_header],
                         ids=["random bytes", "truncated", "garbage after the header"])
def test_corrupt_database_is_named_in_one_line_and_left_alone(server, corpus, tmp_path, damage):
    url, _ = publish(server, 1, "corrupt")
    config = write_config(tmp_path, [url])
    db = tmp_path / "state.db"
    damage(tmp_path, db, config)
    before, corpus_before = db.read_bytes(), snapshot(corpus)
    for command in ("poll", "feeds"):
        r = run_cli(config, command)
        one_line_error(r, 1, db)
    assert db.read_bytes() == before, "a damaged database is evidence: never rewritten"
    assert snapshot(corpus) == corpus_before


def _hold_exclusive(db: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(str(db), isolation_level=None, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_locked_database_is_waited_for_then_the_poll_succeeds(server, corpus, tmp_path):
    """Another process holds an exclusive SQLite lock for 6 s (well inside the 30 s busy
    timeout): the poll waits for it — it fetches nothing meanwhile — then does its whole job."""
    stories = make_stories(2, tag="locked")
    by_url = serve(server, stories)
    url = feed(server, "/feed.xml", stories[:1])
    config = write_config(tmp_path, [url])
    assert run_cli(config, "poll").returncode == 0          # the database exists, in WAL mode
    feed(server, "/feed.xml", stories)                      # a second story arrives
    db = tmp_path / "state.db"
    holder = _hold_exclusive(db)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "-c", str(config), "poll"],
                                cwd=str(ROOT), env=child_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        fetched = server.count("/feed.xml")
        time.sleep(6)
        assert proc.poll() is None, "the poll did not wait for the lock"
        assert server.count("/feed.xml") == fetched, "the poll went on without the database"
    finally:
        holder.rollback()
        holder.close()
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "1 new stories" in out, out + err
    check(corpus, db, by_url, complete=True)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_locked_database_beyond_the_busy_timeout_fails_in_one_line(server, corpus, tmp_path):
    url, _ = publish(server, 1, "locked-long")
    config = write_config(tmp_path, [url])
    assert run_cli(config, "poll").returncode == 0
    db = tmp_path / "state.db"
    before = snapshot(corpus)
    holder = _hold_exclusive(db)
    try:
        started = time.monotonic()
        r = run_cli(config, "poll", timeout=200)
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert waited >= 25, f"gave up after {waited:.0f}s, before its 30 s busy timeout"
    one_line_error(r, 1, db, "locked")
    assert snapshot(corpus) == before


@pytest.mark.parametrize("where", ["under a regular file", "a directory", "under /proc"])
def test_database_path_that_cannot_be_created(server, corpus, tmp_path, where):
    url, _ = publish(server, 1, "dbpath")
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    if where == "under a regular file":
        db = blocker / "state.db"
    elif where == "a directory":
        db = tmp_path / "state.db"
        db.mkdir()
    else:
        db = Path("/proc/monitor-test-no-such-dir/state.db")
    config = write_config(tmp_path, [url], database=str(db))
    before = snapshot(corpus)
    r = run_cli(config, "poll")
    one_line_error(r, 1, db)
    assert snapshot(corpus) == before
    assert blocker.read_text() == "x"
    assert server.count("/feed.xml") == 0


# -- the config file ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["a directory", "a symlink loop", "unreadable (mode 000)",
                                  "not UTF-8", "a dangling symlink"])
def test_config_file_that_cannot_be_read(server, corpus, tmp_path, kind):
    url, _ = publish(server, 1, "cfg")
    good = write_config(tmp_path, [url])
    path = tmp_path / "monitor.yaml"
    words = [path]
    if kind == "a directory":
        path.mkdir()
        words.append("directory")
    elif kind == "a symlink loop":
        path.symlink_to(path)
        words.append("symbolic links")
    elif kind == "unreadable (mode 000)":
        if os.geteuid() == 0:
            pytest.skip("running as root: root reads a mode-000 file (the symlink-loop case "
                        "covers an unreadable config as root)")
        path.write_bytes(good.read_bytes())
        path.chmod(0o000)
        words.append("ermission denied")
    elif kind == "not UTF-8":
        path.write_bytes(good.read_bytes() + "# café, Moscou\n".encode("latin-1"))
        words.append("utf-8")
    else:
        path.symlink_to(tmp_path / "no-such-file.yaml")
        words.append("not found")
    before = snapshot(corpus)
    for command in ("poll", "check"):
        r = run_cli(path, command)
        line = one_line_error(r, 2, *words[:1])
        assert line.startswith("monitor: config error: ")
        assert words[1].lower() in line.lower(), line
    assert snapshot(corpus) == before
    assert not (tmp_path / "state.db").exists()
    assert server.count("/feed.xml") == 0
