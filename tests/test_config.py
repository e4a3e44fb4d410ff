"""Unit tests for monitor.config (and `monitor check` through the real CLI).

Every problem is a ConfigError (exit code 2) whose message names the key and, where known, the
line; relative paths resolve against the config file's own folder; the repo's config validates.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from monitor.config import Config, load_config, parse_duration, parse_size
from monitor.errors import ConfigError, MonitorError
from tests.conftest import ROOT, rss, run_cli, write_config

GOOD = """\
corpus_dir: corpus
database: state.db
feeds:
  - url: https://example.org/rss.xml
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """The problems load_config reports for `text`; fails the test when it loads."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert isinstance(err, MonitorError) and err.exit_code == 2
    assert err.problems and str(err) == "\n".join(err.problems)
    return err.problems


def one_problem(tmp_path: Path, text: str, key: str, line: int | None) -> str:
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    p = found[0]
    assert p.startswith("config.yaml: "), p                      # names the file
    assert re.search(rf"(^|: ){re.escape(key)}\b", p), (key, p)  # names the key ...
    if line is not None:
        assert f"(line {line})" in p, (line, p)                  # ... and the line
    return p


# --- a good config ------------------------------------------------------------------------------


def test_minimal_config_loads_with_defaults(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert isinstance(cfg, Config)
    assert [f.url for f in cfg.feeds] == ["https://example.org/rss.xml"]
    assert cfg.interval == 900.0 and cfg.concurrency == 128 and cfg.per_host == 2
    assert cfg.feeds[0].enabled is True and cfg.feeds[0].interval is None
    assert cfg.digest.timezone == "UTC" and cfg.digest.smtp is None
    assert cfg.path == (tmp_path / "config.yaml").resolve()


def test_full_config_loads(tmp_path):
    cfg = load_config(write(tmp_path, """\
        corpus_dir: corpus
        database: state.db
        interval: 2h
        concurrency: 8
        per_host: 1
        min_text_chars: 100
        user_agent: test-agent/1.0
        timeouts: {connect: 5s, read: 20s, total: 1m}
        limits: {feed_bytes: 512KB, page_bytes: 2MB, max_redirects: 3}
        feeds:
          - https://bare.example.org/feed            # a bare URL is accepted
          - url: https://example.org/rss.xml
            name: Example
            interval: 30m
            enabled: false
        digest:
          to: [a@example.org, b@example.org]
          from: monitor@example.org
          time: 07:30                                # unquoted: YAML reads 450 (sexagesimal)
          timezone: Asia/Seoul
          outbox: outbox
          smtp: {host: 127.0.0.1, port: 2525, security: starttls, username: u, password_env: PW}
        """))
    assert cfg.interval == 7200.0 and cfg.concurrency == 8 and cfg.per_host == 1
    assert (cfg.timeouts.connect, cfg.timeouts.read, cfg.timeouts.total) == (5.0, 20.0, 60.0)
    assert (cfg.limits.feed_bytes, cfg.limits.page_bytes, cfg.limits.max_redirects) == (
        512 * 1024, 2 * 1024**2, 3)
    assert cfg.feeds[0].url == "https://bare.example.org/feed"
    assert (cfg.feeds[1].name, cfg.feeds[1].interval, cfg.feeds[1].enabled) == (
        "Example", 1800.0, False)
    assert cfg.digest.to == ("a@example.org", "b@example.org")
    assert cfg.digest.time == "07:30" and cfg.digest.timezone == "Asia/Seoul"
    assert cfg.digest.smtp.security == "starttls" and cfg.digest.smtp.port == 2525
    assert cfg.digest.outbox == tmp_path.resolve() / "outbox"


def test_the_repos_own_config_validates_and_has_at_least_12_feeds():
    cfg = load_config(ROOT / "config.yaml")
    assert len(cfg.feeds) >= 12
    assert all(f.url.startswith(("http://", "https://")) for f in cfg.feeds)
    assert len({f.url for f in cfg.feeds}) == len(cfg.feeds)
    assert cfg.corpus_dir.is_absolute() and cfg.database.is_absolute()


# --- durations and sizes ------------------------------------------------------------------------


@pytest.mark.parametrize("value, seconds", [
    ("90s", 90.0), ("15m", 900.0), ("2h", 7200.0), ("1d", 86400.0), (45, 45.0), ("45", 45.0),
    ("1.5h", 5400.0), (" 15m ", 900.0), (2.5, 2.5),
])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["15x", "", "m", "15 minutes", "-5m", "0", 0, -1, True, None,
                                   "1w", "1h30m"])
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize("text, seconds", [("90s", 90.0), ("15m", 900.0), ("2h", 7200.0),
                                           ("1d", 86400.0)])
def test_durations_in_a_config(tmp_path, text, seconds):
    cfg = load_config(write(tmp_path, f"""\
        corpus_dir: c
        database: d.db
        interval: {text}
        timeouts:
          total: {text}
        feeds:
          - url: https://example.org/rss
            interval: {text}
        """))
    assert cfg.interval == cfg.timeouts.total == cfg.feeds[0].interval == seconds


@pytest.mark.parametrize("value, size", [("512KB", 512 * 1024), ("10MB", 10 * 1024**2),
                                         ("1gb", 1024**3), (2048, 2048), ("100b", 100),
                                         ("100", 100)])
def test_parse_size(value, size):
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["10XB", "", "-1", 0, -5, True, "MB", "0.1b"])
def test_parse_size_rejects(value):
    with pytest.raises(ValueError):
        parse_size(value)


@pytest.mark.parametrize("text, key, line", [
    ("interval: 15x\n", "interval", 3),
    ("interval: -5\n", "interval", 3),
    ("interval: 0s\n", "interval", 3),
    ("interval: yes\n", "interval", 3),
    ("timeouts:\n  connect: soon\n", "timeouts.connect", 4),
    ("limits:\n  feed_bytes: 10XB\n", "limits.feed_bytes", 4),
    ("limits:\n  page_bytes: 0\n", "limits.page_bytes", 4),
])
def test_bad_duration_or_size_names_key_and_line(tmp_path, text, key, line):
    p = one_problem(tmp_path, "corpus_dir: c\ndatabase: d.db\n" + text
                    + "feeds:\n  - url: https://example.org/rss\n", key, line)
    assert re.search(r"duration|size|positive", p)


def test_bad_feed_interval_names_the_feed(tmp_path):
    one_problem(tmp_path, """\
        corpus_dir: c
        database: d.db
        feeds:
          - url: https://example.org/a
          - url: https://example.org/b
            interval: often
        """, "feeds[1].interval", 6)


@pytest.mark.parametrize("value", [".inf", ".nan"])
def test_non_finite_durations_are_rejected(tmp_path, value):
    one_problem(tmp_path, f"corpus_dir: c\ndatabase: d.db\ninterval: {value}\n"
                          "feeds:\n  - url: https://example.org/rss\n", "interval", 3)


# --- unknown keys, types, URLs, required keys, duplicates --------------------------------------


def test_unknown_key_names_key_line_and_suggests_the_right_one(tmp_path):
    p = one_problem(tmp_path, """\
        corpus_dir: c
        database: d.db
        feeds:
          - url: https://example.org/rss
        intervall: 15m
        """, "intervall", 5)
    assert "unknown key" in p and "did you mean 'interval'?" in p


@pytest.mark.parametrize("text, key, line, hint", [
    ("feeds:\n  - url: https://example.org/rss\n    intervl: 5m\n", "feeds[0].intervl", 5,
     "interval"),
    ("feeds:\n  - url: https://example.org/rss\ntimeouts:\n  totl: 5s\n", "timeouts.totl", 6,
     "total"),
    ("feeds:\n  - url: https://example.org/rss\ndigest:\n  smtp:\n    hots: h\n",
     "digest.smtp.hots", 7, "host"),
    ("feeds:\n  - url: https://example.org/rss\nlimits:\n  feed_byte: 1MB\n", "limits.feed_byte",
     6, "feed_bytes"),
])
def test_unknown_nested_key_names_its_full_path(tmp_path, text, key, line, hint):
    found = problems(tmp_path, "corpus_dir: c\ndatabase: d.db\n" + text)
    p = next(p for p in found if key in p)
    assert f"(line {line})" in p and f"did you mean '{hint}'?" in p


def test_unknown_key_without_a_close_match_has_no_hint(tmp_path):
    p = one_problem(tmp_path, GOOD + "zzqx: 1\n", "zzqx", 5)
    assert "unknown key" in p and "did you mean" not in p


def test_a_key_given_twice_is_a_problem(tmp_path):
    p = one_problem(tmp_path, "corpus_dir: c\ncorpus_dir: e\ndatabase: d.db\n"
                              "feeds:\n  - url: https://example.org/rss\n", "corpus_dir", 2)
    assert "twice" in p


@pytest.mark.parametrize("text, key, line", [
    ("concurrency: many\n", "concurrency", 3),
    ("concurrency: 1.5\n", "concurrency", 3),
    ("concurrency: 0\n", "concurrency", 3),
    ("per_host: true\n", "per_host", 3),
    ("min_text_chars: [1]\n", "min_text_chars", 3),
    ("user_agent: ''\n", "user_agent", 3),
    ("timeouts: 5\n", "timeouts", 3),
    ("limits:\n  max_redirects: 21\n", "limits.max_redirects", 4),
    ("digest:\n  to: a@b.org\n  smtp:\n    host: h\n    port: 70000\n", "digest.smtp.port", 7),
    ("digest:\n  to: a@b.org\n  smtp:\n    host: h\n    timeout: soon\n", "digest.smtp.timeout", 7),
    ("digest:\n  to: a@b.org\n  smtp:\n    host: h\n    username: u\n    password_env: s3cret!\n",
     "digest.smtp.password_env", 8),
    ("digest:\n  smtp:\n    host: h\n", "digest.to", 4),
    ("digest:\n  send_empty: sometimes\n", "digest.send_empty", 4),
    ("digest:\n  to: nobody\n", "digest.to", 4),
    ("digest:\n  time: 25:00\n", "digest.time", 4),
])
def test_wrong_type_or_range_names_key_and_line(tmp_path, text, key, line):
    one_problem(tmp_path, "corpus_dir: c\ndatabase: d.db\n" + text
                + "feeds:\n  - url: https://example.org/rss\n", key, line)


def test_wrong_type_of_feed_field(tmp_path):
    p = one_problem(tmp_path, GOOD + "    enabled: 'no'\n", "feeds[0].enabled", 5)
    assert "true or false" in p


@pytest.mark.parametrize("url, why", [
    ("ftp://example.org/feed.xml", "not an http(s) URL"),
    ("file:///etc/passwd", "not an http(s) URL"),
    ("javascript:alert(1)", "not an http(s) URL"),
    ("example.org/rss", "not an http(s) URL"),
    ("http:///path/only", "has no host"),
    ("https://", "has no host"),
    ("http://example.org:99999/", "bad port"),
])
def test_bad_feed_url_names_key_and_line(tmp_path, url, why):
    p = one_problem(tmp_path, f"corpus_dir: c\ndatabase: d.db\nfeeds:\n  - url: '{url}'\n",
                    "feeds[0].url", 4)
    assert why in p


def test_bad_bare_feed_url(tmp_path):
    one_problem(tmp_path, "corpus_dir: c\ndatabase: d.db\nfeeds:\n  - https://ok.example/\n"
                          "  - ftp://bad.example/\n", "feeds[1].url", 5)


@pytest.mark.parametrize("missing", ["corpus_dir", "database", "feeds"])
def test_missing_required_key(tmp_path, missing):
    lines = {"corpus_dir": "corpus_dir: c\n", "database": "database: d.db\n",
             "feeds": "feeds:\n  - url: https://example.org/rss\n"}
    text = "".join(v for k, v in lines.items() if k != missing)
    p = one_problem(tmp_path, text, missing, 1)
    assert "required key is missing" in p


def test_missing_feed_url(tmp_path):
    p = one_problem(tmp_path, "corpus_dir: c\ndatabase: d.db\nfeeds:\n  - name: x\n",
                    "feeds[0].url", 4)
    assert "required" in p


@pytest.mark.parametrize("feeds, line", [
    ("feeds:\n  url: https://example.org/rss\n", 4),       # a mapping, not a list
    ("feeds:\n", 3),                                       # null
    ("feeds: https://example.org/rss\n", 3),               # a string
])
def test_feeds_must_be_a_list(tmp_path, feeds, line):
    p = one_problem(tmp_path, "corpus_dir: c\ndatabase: d.db\n" + feeds, "feeds", line)
    assert "must be a list" in p


def test_duplicate_feed_names_both_entries(tmp_path):
    p = one_problem(tmp_path, """\
        corpus_dir: c
        database: d.db
        feeds:
          - url: https://example.org/rss
          - url: https://example.org/other
          - url: https://example.org/rss
        """, "feeds[2].url", 6)
    assert "feeds[0]" in p


def test_duplicate_feed_with_surrounding_space_or_as_bare_url(tmp_path):
    one_problem(tmp_path, "corpus_dir: c\ndatabase: d.db\nfeeds:\n  - https://example.org/rss\n"
                          "  - url: ' https://example.org/rss '\n", "feeds[1].url", 5)


def test_duplicate_feed_spelled_differently_is_detected(tmp_path):
    problems(tmp_path, "corpus_dir: c\ndatabase: d.db\nfeeds:\n  - url: https://example.org/rss\n"
                       "  - url: HTTPS://Example.org:443/rss\n")


@pytest.mark.parametrize("value", ["tls", "SSL", "yes", "''"])
def test_bad_smtp_security(tmp_path, value):
    smtp = f"digest:\n  to: a@b.org\n  smtp:\n    host: 127.0.0.1\n    security: {value}\n"
    p = one_problem(tmp_path, GOOD + smtp, "digest.smtp.security", 9)
    assert "none, starttls, ssl" in p


def test_smtp_without_host(tmp_path):
    # a missing key is reported at the line where its mapping starts
    one_problem(tmp_path, GOOD + "digest:\n  smtp:\n    port: 25\n", "digest.smtp.host", 7)


@pytest.mark.parametrize("tz", ["Mars/Olympus", "Europe/Berlinn", "../../etc/passwd", "''", "5"])
def test_bad_timezone(tmp_path, tz):
    p = one_problem(tmp_path, GOOD + f"digest:\n  timezone: {tz}\n", "digest.timezone", 6)
    assert "timezone" in p


def test_good_timezones(tmp_path):
    for tz in ("UTC", "Europe/Berlin", "Asia/Seoul", "America/New_York"):
        assert load_config(write(tmp_path, GOOD + f"digest:\n  timezone: {tz}\n")
                           ).digest.timezone == tz


def test_every_problem_is_reported_at_once(tmp_path):
    found = problems(tmp_path, """\
        corpus_dir: c
        database: d.db
        concurrency: 0
        per_host: x
        intervall: 5m
        feeds:
          - url: ftp://example.org/
        """)
    assert len(found) == 4
    for key, line in [("concurrency", 3), ("per_host", 4), ("intervall", 5), ("feeds[0].url", 7)]:
        assert any(key in p and f"(line {line})" in p for p in found), (key, found)


# --- whole-file problems ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    p = problems(tmp_path, text)
    assert p == ["config.yaml: the config is empty"]


def test_an_empty_yaml_document_is_a_config_error(tmp_path):
    # '---' alone is a document holding null: still refused, as "must be a mapping"
    assert any("must be a mapping" in p for p in problems(tmp_path, "---\n"))


@pytest.mark.parametrize("text, line", [
    ("corpus_dir: c\ndatabase: [d.db\nfeeds:\n", 2),
    ("corpus_dir: c\ndatabase: d.db\nfeeds:\n\t- url: https://example.org/\n", 4),
    ("corpus_dir: 'c\n", None),
    ("a: b: c\n", 1),
])
def test_invalid_yaml(tmp_path, text, line):
    found = problems(tmp_path, text)
    assert len(found) == 1
    assert found[0].startswith("config.yaml: not valid YAML")
    if line is not None:
        assert f"line {line}" in found[0]


@pytest.mark.parametrize("text", ["- a\n- b\n", "hello\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path, text):
    assert any("must be a mapping" in p for p in problems(tmp_path, text))


def test_file_not_found(tmp_path):
    missing = tmp_path / "nope" / "config.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.exit_code == 2
    assert str(missing) in str(info.value) and "not found" in str(info.value)


def test_unreadable_file_is_a_config_error(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_bytes(b"\xff\xfe\x00corpus_dir: c")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)                      # a directory


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert len(load_config(path).feeds) == 1


@pytest.mark.parametrize("value", ["!include other.yaml", "!!python/object/apply:os.getcwd []"])
def test_unconstructible_yaml_tag_is_a_config_error(tmp_path, value):
    one_problem(tmp_path, f"corpus_dir: {value}\ndatabase: d.db\n"
                          "feeds:\n  - url: https://example.org/rss\n", "corpus_dir", 1)


# --- paths --------------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_folder_not_the_cwd(tmp_path, monkeypatch):
    folder = tmp_path / "etc" / "monitor"
    folder.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(folder, """\
        corpus_dir: data/corpus
        database: ../state.db
        feeds:
          - url: https://example.org/rss
        digest:
          outbox: out/box
        """)
    cfg = load_config(Path("..") / "etc" / "monitor" / "config.yaml")   # itself relative
    base = folder.resolve()
    assert cfg.corpus_dir == base / "data" / "corpus"
    assert cfg.database.resolve() == (tmp_path / "etc" / "state.db").resolve()
    assert cfg.digest.outbox == base / "out" / "box"
    assert cfg.path == path.resolve()
    assert cfg.corpus_dir.is_absolute() and cfg.database.is_absolute()


def test_absolute_and_home_paths(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    cfg = load_config(write(tmp_path, f"""\
        corpus_dir: {tmp_path / 'abs' / 'corpus'}
        database: ~/state.db
        feeds:
          - url: https://example.org/rss
        """))
    assert cfg.corpus_dir == tmp_path / "abs" / "corpus"
    assert cfg.database == home / "state.db"


def test_loading_creates_nothing(tmp_path):
    load_config(write(tmp_path, GOOD + "digest:\n  outbox: outbox\n"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


# --- through the CLI ----------------------------------------------------------------------------


def test_cli_check_reports_a_typo_with_key_and_line_and_exits_2(tmp_path):
    config = write(tmp_path, """\
        corpus_dir: corpus
        database: state.db
        feeds:
          - url: https://example.org/rss
        intervall: 15m
        """)
    r = run_cli(config, "check", timeout=60)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "intervall" in r.stderr and "(line 5)" in r.stderr
    assert "did you mean 'interval'?" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_check_missing_file_exits_2(tmp_path):
    r = run_cli(tmp_path / "absent.yaml", "check", timeout=60)
    assert r.returncode == 2
    assert "not found" in r.stderr


def test_cli_check_accepts_a_good_config_without_touching_the_network(tmp_path, server):
    feeds = [server.add(f"/feed{i}.xml", rss([])) for i in range(3)]
    config = write_config(tmp_path, feeds + [{"url": server.url("/off.xml"), "enabled": False}])
    r = run_cli(config, "check", timeout=60)
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout
    assert sum(server.hits.values()) == 0
    assert all(server.count(f"/feed{i}.xml") == 0 for i in range(3))
    # check validates only: no database, no corpus directory
    assert not (tmp_path / "state.db").exists() and not (tmp_path / "corpus").exists()


def test_digest_defaults_write_to_an_outbox_beside_the_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("corpus_dir: c\ndatabase: d.db\nfeeds: []\n")
    d = load_config(path).digest
    assert d.smtp is None and d.outbox == tmp_path.resolve() / "outbox"
    assert d.time == "07:00" and d.timezone == "UTC" and not d.send_empty


def test_smtp_ssl_defaults_to_port_465_and_a_password_needs_a_user(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("corpus_dir: c\ndatabase: d.db\nfeeds: []\ndigest:\n  to: a@b.org\n"
                    "  smtp:\n    host: mail.example.org\n    security: ssl\n")
    assert load_config(path).digest.smtp.port == 465
    one_problem(tmp_path, "corpus_dir: c\ndatabase: d.db\nfeeds: []\ndigest:\n  to: a@b.org\n"
                          "  smtp:\n    host: h\n    password_env: MAIL_PW\n",
                "digest.smtp.password_env", 8)


# --- the topic ---------------------------------------------------------------------------------


def test_the_shipped_config_spells_out_the_built_in_topic():
    from monitor.classify import default_topic
    shipped = load_config(ROOT / "config.yaml").topic
    assert shipped.spec == default_topic().spec
    assert shipped.name == "Russia–North Korea" and shipped.side_names == ("Russia", "North Korea")


def test_a_custom_topic_is_used_and_names_the_digest(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent("""\
        corpus_dir: c
        database: d.db
        feeds: []
        topic:
          name: China–Iran
          sides:
            China: {China: [China, Chinese, Beijing, Кита*, 중국]}
            Iran: {Iran: [Iran, Iranian, Tehran, Иран*, 이란]}
          exclude: [Chinese food]
        """), encoding="utf-8")
    config = load_config(path)
    assert config.topic.name == "China–Iran" and config.digest.title == "China–Iran"
    from monitor.classify import classify
    assert classify({"title": "China and Iran hold naval drills"}, config.topic).keep
    assert not classify({"title": "Russia and North Korea sign a pact"}, config.topic).keep


@pytest.mark.parametrize("topic, key, line", [
    ("topic:\n  name: X\n", "topic.sides", 4),
    ("topic:\n  name: X\n  sides: [a, b]\n", "topic.sides", 5),
    ("topic:\n  name: X\n  sides:\n    A: {a: [x]}\n    B: {b: [y]}\n    C: {c: [z]}\n", "topic.sides", 6),
    ("topic:\n  name: X\n  sides:\n    A: {a: []}\n", "topic.sides.A.a", 6),
    ("topic:\n  name: X\n  sides:\n    A: {a: [\"re:(oops\"]}\n", "topic.sides.A.a", 6),
    ("topic:\n  name: X\n  sides:\n    A: {a: [x]}\n  both: {ab: [y]}\n", "topic.both", 7),
    ("topic:\n  name: X\n  sides:\n    A: {a: [x]}\n  exclude: yes\n", "topic.exclude", 7),
    ("topic:\n  name: X\n  sides:\n    A: {a: [x]}\n  side: {}\n", "topic.side", 7),
    ("topic:\n  name: X\n  sides:\n    A: {a: [x]}\n  context: [a]\n", "topic.context", 7),
    ("topic:\n  name: X\n  sides:\n    A: {apple: [x]}\n  context:\n    aple: {if: [y]}\n",
     "topic.context.aple", 8),
    ("topic:\n  name: X\n  sides:\n    A: {a: [x]}\n  context:\n    a: {when: [y]}\n",
     "topic.context.a.when", 8),
    ("topic:\n  name: X\n  sides:\n    A: {a: [x]}\n  context:\n    a: {}\n", "topic.context.a", 8),
    ("topic:\n  name: X\n  sides:\n    A: {a: [x]}\n  context:\n    a: {unless: []}\n",
     "topic.context.a.unless", 8),
    ("topic:\n  name: X\n  sides:\n    A: {a: [x]}\n  context:\n    a: {if: [\"re:(\"]}\n",
     "topic.context.a.if", 8),
])
def test_topic_problems_name_key_and_line(tmp_path, topic, key, line):
    one_problem(tmp_path, "corpus_dir: c\ndatabase: d.db\n" + topic
                + "feeds:\n  - url: https://example.org/rss\n", key, line)
