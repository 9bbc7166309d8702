"""From a file to data: YAML and its errors, `${VAR}` secrets."""
import pytest

from siren_sync.config.read import parse_json
from siren_sync.errors import ConfigError
from tests.config.helpers import config, error, load

# ------------------------------------------------------------------------------ YAML


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    message = error(tmp_path, "site:\n  url: https://x.example\n  timezone: [UTC\nstore: {}\n")
    assert ": line 4: YAML syntax error" in message


def test_duplicate_yaml_key_is_an_error(tmp_path):
    message = error(tmp_path, "site:\n  url: https://a.example\n  url: https://b.example\n")
    assert message.endswith(": line 3: YAML syntax error: duplicate key 'url'")


FLOW_SECRET = """\
site:
  url: https://shop.example.com
  wordpress: {user: ${WP_USER}, application_password: ${WP_PASSWORD}}
"""


def test_an_unquoted_secret_in_a_flow_mapping_says_how_to_write_it(tmp_path):
    """PyYAML reads `{user: ${WP_USER}}` as `$` then a second mapping ("expected ',' or '}', but got '{'")."""
    message = error(tmp_path, FLOW_SECRET, env={"WP_USER": "admin", "WP_PASSWORD": "p"})
    assert message.endswith(': line 3: YAML syntax error: ${WP_USER} inside a {...} flow mapping must be quoted: '
                            'write "${WP_USER}", or use block style (one key per line)')


def test_an_unquoted_reference_in_a_flow_list_says_how_to_write_it(tmp_path):
    text = "site: {url: https://shop.example.com}\ncollaborators:\n  - id: alice\n    coupons: [ALICE10, ${CODE:-x}]\n"
    message = error(tmp_path, text)
    assert message.endswith(': line 4: YAML syntax error: ${CODE:-x} inside a [...] flow list must be quoted: '
                            'write "${CODE:-x}", or use block style (one key per line)')


def test_a_quoted_secret_in_a_flow_mapping_loads(tmp_path):
    text = FLOW_SECRET.replace("${WP_USER}", '"${WP_USER}"').replace("${WP_PASSWORD}", '"${WP_PASSWORD}"')
    cfg = load(tmp_path, text, env={"WP_USER": "admin", "WP_PASSWORD": "abcd efgh"})
    assert cfg.site.wp_user == "admin" and cfg.site.wp_app_password.value == "abcd efgh"


def test_another_flow_mapping_error_keeps_the_yaml_message(tmp_path):
    message = error(tmp_path, "site: {url: https://x.example timezone: UTC}}\n")
    assert ": line 1: YAML syntax error: " in message and "must be quoted" not in message


def test_invalid_json_names_the_line():
    with pytest.raises(ConfigError, match=r"^r\.json: line 2: invalid JSON: "):
        parse_json('{"a": 1,\n}', "r.json")


# ------------------------------------------------------------------------------ ${VAR}


def test_env_variables_are_interpolated_in_any_string(tmp_path):
    cfg = load(tmp_path, config(**{"site.url": "https://${HOST}", "distributors.bonus.name": "Bonus ${YEAR}"}),
               env={"HOST": "shop.example.com", "YEAR": "2026"})
    assert cfg.site.url == "https://shop.example.com" and cfg.distributors["bonus"].name == "Bonus 2026"


def test_double_dollar_escapes_and_default_applies(tmp_path):
    cfg = load(tmp_path, config(**{"distributors.bonus.description": "literal $${HOME} ${UNSET:-fallback}"}))
    assert cfg.distributors["bonus"].description == "literal ${HOME} fallback"


def test_missing_env_variable_names_variable_and_key(tmp_path):
    data = config(**{"site.wordpress": {"user": "admin", "application_password": "${SIREN_WP_APP_PASSWORD}"}})
    message = error(tmp_path, data)
    assert message.endswith("site.wordpress.application_password: environment variable SIREN_WP_APP_PASSWORD "
                            "is not set")


def test_env_booleans_are_flags_and_ca_bundles_are_paths(tmp_path):
    (tmp_path / "ca.pem").write_text("pem")
    cfg = load(tmp_path, config(**{"site.verify_tls": "${VERIFY}", "sync.siren": {"enabled": "${SIREN}"}}),
               env={"VERIFY": "false", "SIREN": "false"})
    assert cfg.site.verify_tls is False and not cfg.sync.sources["siren"].enabled
    assert load(tmp_path, config(**{"site.verify_tls": "ca.pem"})).site.verify_tls == str(tmp_path / "ca.pem")
    assert "site.verify_tls: CA bundle not found: " in error(tmp_path, config(**{"site.verify_tls": "no.pem"}))


def test_bad_env_reference(tmp_path):
    assert "site.url: bad environment reference '${1X}'" in error(tmp_path, config(**{"site.url": "${1X}"}))
