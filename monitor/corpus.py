"""The corpus directory: scan it, number new files, append atomically, lock it.

A corpus file is `NNN_<16 hex>.txt`: NNN one more than the highest number in the directory (at
least 3 digits), then the story id; UTF-8, the title on the first line, one paragraph per line, no
trailing newline (as the seed files have it). Files are only ever added: a write goes to a hidden
temp file in the same directory, is fsynced, then hard-linked to its final name (which fails rather
than overwrite) and the directory is fsynced. A kill at any instant leaves either no file or the
whole file, never part of one.

Two processes must not take the same number: `lock()` holds an exclusive flock on the directory
itself while a number is chosen and the file written. Does not know about feeds or the database.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from monitor.errors import CorpusError, LockError

FILE_RE = re.compile(r"^([0-9]{3,})_([0-9a-f]{16})\.txt$")   # ASCII digits only
TEMP_PREFIX = ".monitor-tmp-"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2028\u2029\ufeff]")


@dataclass(frozen=True)
class CorpusFile:
    name: str
    number: int
    story_id: str


def clean_line(text: str) -> str:
    """One clean line: no control characters, no line breaks, single spaces, NFC, encodable as
    UTF-8 (a lone surrogate becomes U+FFFD)."""
    if _has_surrogate(text):
        text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    text = _CONTROL.sub(" ", text.replace("\u00ad", ""))   # soft hyphens vanish
    return " ".join(unicodedata.normalize("NFC", text).split())


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def render(title: str, paragraphs: list[str] | tuple[str, ...]) -> str:
    lines = [clean_line(title)] + [p for p in (clean_line(x) for x in paragraphs) if p]
    if not lines[0]:
        raise CorpusError("a story needs a title")
    return "\n".join(lines)


class Corpus:
    def __init__(self, directory: Path, lock_timeout: float = 30.0):
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout

    def ensure(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CorpusError(f"cannot create corpus directory {self.directory}: {e}") from e
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise CorpusError(f"corpus directory {self.directory} is not writable")

    def scan(self) -> list[CorpusFile]:
        """Every corpus file, by number. Other files (README, temp files) are ignored."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise CorpusError(f"cannot read corpus directory {self.directory}: {e}") from e
        files = []
        for name in names:
            m = FILE_RE.match(name)
            if m:
                files.append(CorpusFile(name, int(m.group(1)), m.group(2)))
        files.sort(key=lambda f: (f.number, f.name))
        return files

    def next_number(self, files: list[CorpusFile] | None = None) -> int:
        """One more than the highest number (of `files`, a scan already made, else a new scan)."""
        files = self.scan() if files is None else files
        return files[-1].number + 1 if files else 0

    def read(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8", errors="replace")

    def title_of(self, name: str) -> str:
        with open(self.directory / name, encoding="utf-8", errors="replace") as f:
            return clean_line(f.readline())

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive lock on the corpus directory (flock on its own descriptor), bounded wait."""
        self.ensure()
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() > deadline:
                        raise LockError(f"corpus {self.directory} is locked by another process "
                                        f"for more than {self.lock_timeout:.0f}s") from e
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)   # closing the descriptor releases the flock

    def file_name(self, number: int, story_id: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{16}", story_id):
            raise CorpusError(f"bad story id {story_id!r}")
        return f"{number:03d}_{story_id}.txt"

    def write(self, name: str, title: str, paragraphs) -> None:
        """Write one story file atomically under `name`. Call with the lock held."""
        data = render(title, paragraphs).encode("utf-8")
        final = self.directory / name
        tmp = self.directory / f"{TEMP_PREFIX}{os.getpid()}-{name}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                try:
                    view = memoryview(data)
                    while view:                  # os.write may write less than asked
                        view = view[os.write(fd, view):]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                try:
                    os.link(tmp, final)          # never overwrites: fails if `final` exists
                except FileExistsError:
                    raise CorpusError(f"{name} already exists in the corpus; not overwritten") from None
            finally:                             # a full disk leaves no partial temp file
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
            self._fsync_dir()
        except OSError as e:
            raise CorpusError(f"cannot write {final}: {e}") from e

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def remove_temp_files(self) -> int:
        """Delete temp files a killed writer left behind. Call with the lock held."""
        removed = 0
        for name in os.listdir(self.directory):
            if name.startswith(TEMP_PREFIX):
                try:
                    os.unlink(self.directory / name)
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed
