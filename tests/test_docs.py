"""The README is part of the interface: keep it true."""

from __future__ import annotations

import re

from monitor import config
from monitor.cli import COMMANDS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    blocks = re.findall(r"```sh\n(.+?)\n```", README)
    run, test = blocks[0], blocks[1]
    assert README.index(run) < README.index("## What it does")
    assert run.endswith("monitor run") and "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text()


def test_every_config_key_is_documented():
    for table in (config.TOP_KEYS, config.FEED_KEYS, config.DIGEST_KEYS, config.SMTP_KEYS,
                  config.TOPIC_KEYS):
        for key in table:
            assert f"`{key}`" in README or f".{key}`" in README or f"`{key}" in README, key
    for table, prefix in ((config.TIMEOUT_KEYS, "timeouts"), (config.LIMIT_KEYS, "limits")):
        for key in table:
            assert f".{key}" in README, f"{prefix}.{key}"


def test_every_command_is_documented():
    for name in COMMANDS:
        assert f"monitor [-c CONFIG] {name}" in README, name


def test_every_table_is_documented():
    from monitor.state import State

    state = State(None)
    for table in state.db.table_names():
        if not table.startswith("_") and not table.startswith("search_"):   # FTS5's own tables
            assert f"| `{table}` |" in README, table
            for column in state.db[table].columns_dict:
                assert f"`{column}`" in README, f"{table}.{column}"


def test_every_command_option_is_documented():
    import argparse

    from monitor.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, parser in sub.choices.items():
        for action in parser._actions:
            longs = [o for o in action.option_strings if o.startswith("--")]
            if longs and longs[0] not in ("--help",) and longs[0] not in README:
                missing.append(f"{name} {longs[0]}")
    assert not missing, missing
