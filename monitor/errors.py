"""The exception tree. Every error the program reports on purpose is a MonitorError.

    MonitorError                 exit code 1 unless a subclass says otherwise
    ├── ConfigError              exit code 2: invalid config or usage; names the key (and line)
    ├── LockError                another process holds a lock we need
    ├── StateError               the database cannot be opened or created (corrupt, bad path)
    ├── CorpusError              the corpus directory cannot be read or appended to
    ├── FetchError               one HTTP request failed (timeout, status, size cap, redirects, scheme)
    ├── ParseError               a fetched document is not a feed we can read
    ├── ExtractError             an article page yielded no usable text
    └── DeliveryError            a digest was not accepted (SMTP refused or unreachable, outbox unwritable)

Stage errors (Fetch/Parse/Extract) never cross the pipeline boundary: the pipeline turns them into
an outcome stored on the feed row, so one bad feed never stops a poll.
"""

from __future__ import annotations


class MonitorError(Exception):
    exit_code = 1


class ConfigError(MonitorError):
    exit_code = 2

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class LockError(MonitorError):
    pass


class StateError(MonitorError):
    pass


class CorpusError(MonitorError):
    pass


class FetchError(MonitorError):
    """One request failed. `kind` is a short stable word for logs and the feeds table."""

    def __init__(self, url: str, kind: str, detail: str = "", *, status: int | None = None,
                 retry_after: float | None = None):
        self.url = url
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{kind}: {detail}" if detail else kind)


class ParseError(MonitorError):
    def __init__(self, url: str, detail: str):
        self.url = url
        self.detail = detail
        super().__init__(detail)

    def __reduce__(self):   # raised in a worker process, re-raised in the poll
        return (ParseError, (self.url, self.detail))


class ExtractError(MonitorError):
    pass


class DeliveryError(MonitorError):
    """The digest was not delivered; nothing was marked delivered."""
