"""The one-line-error kit: positions, did-you-mean, and each checker's type and range."""
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from siren_sync.config.validate import At, check_keys, duration, number, resolve_path, show, whole
from siren_sync.errors import ConfigError
from tests.config.helpers import BASE, config, error, load, write

# ------------------------------------------------------------------------------ At


def test_a_position_names_file_and_key_path():
    at = At("siren.yaml") / "collaborators"
    with pytest.raises(ConfigError, match=r"^siren\.yaml: collaborators\[2\]\.email: bad$"):
        (at[2] / "email").fail("bad")
    assert At("siren.yaml").note("empty") == "siren.yaml: (top level): empty"


# ------------------------------------------------------------------------------ keys


def test_a_misspelled_key_gets_the_closest_known_one():
    with pytest.raises(ConfigError, match=r"^f: site\.timezon: unknown key; did you mean 'timezone'\?$"):
        check_keys(At("f", "site"), {"url": "x", "timezon": "UTC"}, ("url", "timezone"))


def test_siren_only_keys_pass_silently():
    check_keys(At("f"), {"id": 3, "name": "x"}, ("name",), ("id",))
    with pytest.raises(ConfigError, match=r"^f: id: unknown key; valid keys: name$"):
        check_keys(At("f"), {"id": 3, "name": "x"}, ("name",))


def test_unknown_key_suggests_the_closest(tmp_path):
    data = config(**{"distributors.bonus.shedule": ["monday"]})
    assert error(tmp_path, data).endswith("distributors.bonus.shedule: unknown key; did you mean 'schedule'?")


def test_unknown_key_without_close_match_lists_valid_keys(tmp_path):
    assert "(top level)" not in error(tmp_path, config(zzz=1))
    assert ": zzz: unknown key; valid keys: site, store, sync" in error(tmp_path, config(zzz=1))


# ------------------------------------------------------------------------------ types


def test_status_yes_is_a_type_error(tmp_path):
    path = write(tmp_path, yaml.safe_dump(BASE) + "")
    text = path.read_text().replace("units: USD", "units: USD\n    status: yes")
    message = error(tmp_path, text)
    assert "distributors.bonus.status: expected one of active, inactive, got true" in message
    assert "quote it" in message


def test_wrong_type_for_a_flag(tmp_path):
    message = error(tmp_path, config(**{"sync.woocommerce": {"enabled": "sure"}}))
    assert message.endswith("sync.woocommerce.enabled: expected true or false, got 'sure'")


@pytest.mark.parametrize("value,shown", [(True, "true"), (None, "null"), ({}, "a mapping"), ([1], "a list"),
                                         ("x" * 70, repr("x" * 57 + "...")), (1.5, "1.5")])
def test_values_are_shown_as_the_user_wrote_them(value, shown):
    assert show(value) == shown


@pytest.mark.parametrize("value,expected", [(5, Decimal(5)), ("2.5", Decimal("2.5")), (0.1, Decimal("0.1")),
                                            (" 100 ", Decimal(100))])
def test_numbers_from_yaml_and_siren_strings(value, expected):
    assert number(At("f", "n"), value) == expected


@pytest.mark.parametrize("bad", [True, None, "nan", "12,5", [1], float("inf")])
def test_what_is_not_a_finite_number_is_refused(bad):
    with pytest.raises(ConfigError, match=r"^f: n: expected a number, got "):
        number(At("f", "n"), bad)


def test_a_whole_number_within_its_range():
    assert whole(At("f", "n"), 100, 1, 100) == 100
    with pytest.raises(ConfigError, match=r"^f: n: must be from 1 to 100, got 101$"):
        whole(At("f", "n"), 101, 1, 100)
    with pytest.raises(ConfigError, match=r"^f: n: expected a whole number, got true \(YAML reads yes/no"):
        whole(At("f", "n"), True, 1)


def test_relative_paths_are_relative_to_the_config_folder(tmp_path):
    assert resolve_path(tmp_path, "data/../s.json") == tmp_path / "s.json"
    assert resolve_path(tmp_path, "/abs/s.json") == Path("/abs/s.json")


# ------------------------------------------------------------------------------ durations


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), (90, 90),
                                          ("45", 45), ("1h30m", 5400)])
def test_durations(tmp_path, text, seconds):
    assert load(tmp_path, config(**{"sync.every": text})).sync.every == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "soon", 0, "-5m"])
def test_bad_durations(tmp_path, bad):
    assert "sync.every: " in error(tmp_path, config(**{"sync.every": bad}))


def test_a_zero_duration_where_zero_is_allowed():
    assert duration(At("f", "overlap"), "0", zero=True) == 0
    with pytest.raises(ConfigError, match=r"^f: every: must be more than zero, got 0$"):
        duration(At("f", "every"), 0)


@pytest.mark.parametrize("value,why", [
    ("1e3", "expected a number, got '1e3'"),
    (10 ** 16, "points is 10000000000000000: more than 15 digits before the decimal point"),
    ("0.123456789", "points is '0.123456789': more than 8 decimals")])
def test_config_numbers_are_plain_and_bounded(value, why):
    with pytest.raises(ConfigError, match=f"^f: n: {why}$"):
        number(At("f", "n"), value, what="points")
