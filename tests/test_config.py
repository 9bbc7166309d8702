"""The configuration contract: what loads, and the one-line `<file>: <key>: <problem>` for each mistake."""
import copy
import filecmp
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from siren_sync.config import Secret, builtin_recipes, load_config, load_distributor_json
from siren_sync.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
RECIPES = sorted((ROOT / "config" / "recipes").glob("*.json"))
EXAMPLE_ENV = {"SIREN_WP_USER": "admin", "SIREN_WP_APP_PASSWORD": "abcd efgh ijkl", "SIREN_WC_KEY": "ck_1",
               "SIREN_WC_SECRET": "cs_1"}
BASE = {
    "site": {"url": "https://shop.example.com", "timezone": "Europe/Paris",
             "woocommerce": {"consumer_key": "ck_1", "consumer_secret": "cs_1"}},
    "distributors": {"bonus": {"distributionResolver": "topScoreWins", "units": "USD",
                               "schedule": ["first day of next month"],
                               "engagementTypes": {"boundCouponUsed": 5}, "revenuePercentage": 10}},
}


def config(**changes) -> dict:
    """BASE with dotted-path changes: config(**{"site.url": "x"}); a value of ... deletes the key."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def write(tmp_path: Path, data, name: str = "siren.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def load(tmp_path: Path, data, env=None):
    return load_config(write(tmp_path, data), env=env or {})


def error(tmp_path: Path, data, env=None) -> str:
    """The message of the ConfigError loading `data` gives; always one line, starting with the file."""
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message


# ------------------------------------------------------------------------------ what loads


def test_example_config_loads_with_its_environment():
    cfg = load_config(ROOT / "config" / "siren.example.yaml", env=EXAMPLE_ENV)
    assert cfg.site.url == "http://127.0.0.1:8080" and cfg.site.timezone == "auto"
    assert cfg.site.wp_user == "admin" and cfg.site.wp_app_password.value == "abcd efgh ijkl"
    assert cfg.store_path == ROOT / "data" / "siren-sync.json"
    assert set(cfg.distributors) == {"monthlySalesBonus", "milestoneRewards"}
    assert cfg.sync.every == 300 and cfg.sync.sources["learndash"].every == 3600
    assert cfg.sync.sources["access_log"].options["visitor_window"] == 1800
    assert cfg.collaborators[0].coupons == ("alice10",)
    assert cfg.warnings == ()


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_each_recipe_loads_and_ships_in_the_package(recipe):
    (distributor,) = load_distributor_json(json.loads(recipe.read_text()), str(recipe))
    assert distributor.resolver in ("topScoreWins", "performanceSharedPool")
    assert distributor.schedule == ("first day of next month",) and distributor.points
    assert 0 < distributor.revenue_percentage <= 100
    assert filecmp.cmp(recipe, ROOT / "siren_sync" / "recipes" / recipe.name, shallow=False)


def test_builtin_recipes_are_the_four_siren_recipes():
    assert builtin_recipes() == ["content-creator-profit-share", "instructor-revenue-share",
                                 "milestone-rewards", "monthly-sales-bonus"]


def test_instructor_recipe_scores_completions_as_siren_describes():
    (d,) = load_distributor_json(json.loads((ROOT / "config/recipes/instructor-revenue-share.json").read_text()), "r")
    assert d.points == {"courseCompleted": Decimal(10), "lessonCompleted": Decimal(1)}


def test_minimal_config_gets_the_documented_defaults(tmp_path):
    cfg = load(tmp_path, BASE)
    d = cfg.distributors["bonus"]
    assert (d.name, d.status, d.pool_resolver, d.exponent, d.is_currency) == (
        "bonus", "active", "revenueSinceLastDistribution", 2, True)
    assert d.compilers == ("lineItems", "discounts") and not d.filters.restricts
    assert cfg.sync.sources["woocommerce"].options["paid_statuses"] == ("processing", "completed")
    assert cfg.publish.rest_route == "wp/v2/posts" and cfg.publish.status == "private"
    assert cfg.store_path == tmp_path / "data" / "siren-sync.json"


def test_config_path_comes_from_the_environment(tmp_path):
    path = write(tmp_path, BASE)
    assert load_config(env={"SIREN_SYNC_CONFIG": str(path)}).path == path


def test_missing_config_file_names_it(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_config(tmp_path / "nope.yaml", env={})


def test_secrets_never_show():
    assert "hunter2" not in repr(Secret("hunter2")) + str(Secret("hunter2"))


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


# ------------------------------------------------------------------------------ keys and types


def test_unknown_key_suggests_the_closest(tmp_path):
    data = config(**{"distributors.bonus.shedule": ["monday"]})
    assert error(tmp_path, data).endswith("distributors.bonus.shedule: unknown key; did you mean 'schedule'?")


def test_unknown_key_without_close_match_lists_valid_keys(tmp_path):
    assert "(top level)" not in error(tmp_path, config(zzz=1))
    assert ": zzz: unknown key; valid keys: site, store, sync" in error(tmp_path, config(zzz=1))


def test_status_yes_is_a_type_error(tmp_path):
    path = write(tmp_path, yaml.safe_dump(BASE) + "")
    text = path.read_text().replace("units: USD", "units: USD\n    status: yes")
    message = error(tmp_path, text)
    assert "distributors.bonus.status: expected one of active, inactive, got true" in message
    assert "quote it" in message


def test_wrong_type_for_a_flag(tmp_path):
    message = error(tmp_path, config(**{"sync.woocommerce": {"enabled": "sure"}}))
    assert message.endswith("sync.woocommerce.enabled: expected true or false, got 'sure'")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    message = error(tmp_path, "site:\n  url: https://x.example\n  timezone: [UTC\nstore: {}\n")
    assert ": line 4: YAML syntax error" in message


def test_duplicate_yaml_key_is_an_error(tmp_path):
    message = error(tmp_path, "site:\n  url: https://a.example\n  url: https://b.example\n")
    assert message.endswith(": line 3: YAML syntax error: duplicate key 'url'")


# ------------------------------------------------------------------------------ site


def test_invalid_timezone(tmp_path):
    message = error(tmp_path, config(**{"site.timezone": "Mars/Olympus"}))
    assert "site.timezone: unknown timezone 'Mars/Olympus'" in message


def test_site_url_must_be_http_or_https(tmp_path):
    assert "site.url: expected an http:// or https:// URL" in error(tmp_path, config(**{"site.url": "ftp://x.example"}))


def test_site_url_must_not_hold_credentials(tmp_path):
    message = error(tmp_path, config(**{"site.url": "https://admin:hunter2@shop.example.com"}))
    assert "site.url: must not hold credentials" in message and "hunter2" not in message


def test_site_url_loses_its_trailing_slash(tmp_path):
    assert load(tmp_path, config(**{"site.url": "https://shop.example.com/"})).site.url == "https://shop.example.com"


def test_application_password_over_plain_http_is_refused(tmp_path):
    data = config(**{"site.url": "http://shop.example.com",
                     "site.wordpress": {"user": "admin", "application_password": "secret-pass"}})
    message = error(tmp_path, data)
    assert "site.url: refusing to send the WordPress application password over plain http" in message
    assert "secret-pass" not in message


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:8080"])
def test_plain_http_is_fine_for_loopback(tmp_path, url):
    data = config(**{"site.url": url, "site.wordpress": {"user": "admin", "application_password": "p"}})
    assert load(tmp_path, data).site.url == url


def test_woocommerce_over_plain_http_is_fine(tmp_path):
    """WooCommerce signs plain-http requests with OAuth1: the secret never travels."""
    assert load(tmp_path, config(**{"site.url": "http://shop.example.com"})).site.wc_key.value == "ck_1"


def test_enabled_source_without_credentials_warns(tmp_path):
    """A warning, not an error: the sandbox or a loopback site may answer without credentials."""
    cfg = load(tmp_path, config(**{"sync.learndash": {"enabled": True}}))
    assert any(w.endswith("sync.learndash.enabled: no site.wordpress.user and application_password")
               for w in cfg.warnings)


def test_empty_file(tmp_path):
    assert error(tmp_path, "").endswith(": the file is empty (see config/siren.example.yaml)")


# ------------------------------------------------------------------------------ durations


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), (90, 90),
                                          ("45", 45), ("1h30m", 5400)])
def test_durations(tmp_path, text, seconds):
    assert load(tmp_path, config(**{"sync.every": text})).sync.every == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "soon", 0, "-5m"])
def test_bad_durations(tmp_path, bad):
    assert "sync.every: " in error(tmp_path, config(**{"sync.every": bad}))


# ------------------------------------------------------------------------------ collaborators


def collaborators(*items) -> dict:
    return config(collaborators=list(items))


def test_collaborators_coupons_are_lower_case_and_statuses_accepted(tmp_path):
    cfg = load(tmp_path, collaborators({"id": "alice", "coupons": ["ALICE10"], "status": "pending"},
                                       {"id": "bob", "status": "inactive"}, {"id": 7}))
    assert cfg.collaborators[0].coupons == ("alice10",) and not cfg.collaborators[1].active
    assert cfg.collaborators[2].id == "7"


def test_duplicate_collaborator_ids(tmp_path):
    message = error(tmp_path, collaborators({"id": "alice"}, {"id": "alice"}))
    assert message.endswith("collaborators[1].id: duplicate collaborator id 'alice' (also collaborators[0])")


def test_coupon_bound_twice_case_insensitively(tmp_path):
    message = error(tmp_path, collaborators({"id": "alice", "coupons": ["SAVE10"]},
                                            {"id": "bob", "coupons": ["save10"]}))
    assert message.endswith("collaborators[1].coupons: coupon 'save10' is already bound to collaborator 'alice'")


@pytest.mark.parametrize("key,first,second,label", [("tracking_ids", ["Alice"], ["alice"], "tracking id"),
                                                     ("products", [93], [93], "product"),
                                                     ("posts", [5], [5], "post"),
                                                     ("wp_user_id", 12, 12, "WordPress user")])
def test_other_bindings_belong_to_one_collaborator(tmp_path, key, first, second, label):
    message = error(tmp_path, collaborators({"id": "a", key: first}, {"id": "b", key: second}))
    assert f"collaborators[1].{key}: {label} " in message and "already bound to collaborator 'a'" in message


def test_bad_collaborator_status(tmp_path):
    message = error(tmp_path, collaborators({"id": "a", "status": "banned"}))
    assert message.endswith("collaborators[0].status: expected one of active, pending, inactive, got 'banned'")


# ------------------------------------------------------------------------------ distributors


def test_siren_rest_distributor_is_accepted_as_it_is(tmp_path):
    siren = {"id": 3, "name": "Top Seller", "description": "", "distributionResolver": "topScoreWins",
             "distributionPoolResolver": "revenueSinceLastDistribution", "status": "active", "units": "USD",
             "dateCreated": "2026-01-01 00:00:00", "dateModified": "2026-01-02 00:00:00", "collaboratorCount": 4,
             "schedule": ["first day of next month"], "engagementTypes": [{"id": 5, "type": "sale", "value": "100"}],
             "transactionCompilers": ["standard"], "revenuePercentage": 30,
             "lineItemFilters": {"withTypes": ["products"], "collaboratorOwned": False, "withSkus": [],
                                 "inCategories": None},
             "currentDistribution": {"id": 9, "distributorId": 3, "status": "pending"}}
    d = load(tmp_path, config(**{"distributors.bonus": siren})).distributors["bonus"]
    assert d.points == {"sale": Decimal(100)} and d.compilers == ("lineItems", "discounts")
    assert d.revenue_percentage == 30 and d.filters.in_categories is None
    (same,) = load_distributor_json(siren, "siren.json")
    assert same.key == "topSeller" and same.points == d.points


def test_siren_json_still_rejects_keys_nobody_knows(tmp_path):
    siren = dict(BASE["distributors"]["bonus"], id=3, dateCreated="2026-01-01 00:00:00", revenuePercent=30)
    message = error(tmp_path, config(**{"distributors.bonus": siren}))
    assert message.endswith("distributors.bonus.revenuePercent: unknown key; did you mean 'revenuePercentage'?")


def test_engagement_types_as_list_or_mapping(tmp_path):
    as_list = [{"type": "referredSiteVisit", "value": 1}, {"type": "boundCouponUsed", "value": "2.5"}]
    d = load(tmp_path, config(**{"distributors.bonus.engagementTypes": as_list})).distributors["bonus"]
    assert d.points == {"referredSiteVisit": Decimal(1), "boundCouponUsed": Decimal("2.5")}


def test_performance_weighted_pool_is_an_alias(tmp_path):
    data = config(**{"distributors.bonus.distributionResolver": "performanceWeightedPool"})
    assert load(tmp_path, data).distributors["bonus"].resolver == "performanceSharedPool"


def test_unknown_resolver_lists_the_valid_ones(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.distributionResolver": "percentage_based"}))
    assert message.endswith("distributors.bonus.distributionResolver: unknown resolver 'percentage_based' "
                            "(valid: topScoreWins, performanceSharedPool, sharedEngagementPool, "
                            "performanceWeightedPool)")


def test_a_pool_resolver_id_siren_sync_does_not_know_is_read_as_the_one_pool_and_noted(tmp_path):
    """Siren documents one pool but not its id: an exported distributor must load (and say so)."""
    cfg = load(tmp_path, config(**{"distributors.bonus.distributionPoolResolver": "standard_pool"}))
    assert cfg.distributors["bonus"].pool_resolver == "revenueSinceLastDistribution"
    assert any("distributors.bonus.distributionPoolResolver: 'standard_pool' is read as "
               "revenueSinceLastDistribution" in w for w in cfg.warnings)
    assert not any("distributionPoolResolver" in w for w in load(tmp_path, BASE).warnings)
    assert "distributionPoolResolver" in error(tmp_path, config(**{"distributors.bonus.distributionPoolResolver": 5}))


def test_unknown_event_type_suggests_and_lists(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.engagementTypes": {"referedSiteVisit": 1}}))
    assert "distributors.bonus.engagementTypes.referedSiteVisit: unknown event type 'referedSiteVisit'; " \
           "did you mean 'referredSiteVisit'? (valid: referredSiteVisit, boundPostUsed" in message


def test_event_type_listed_twice(tmp_path):
    twice = [{"type": "manual", "value": 1}, {"type": "manual", "value": 2}]
    message = error(tmp_path, config(**{"distributors.bonus.engagementTypes": twice}))
    assert message.endswith("distributors.bonus.engagementTypes[1].type: manual is listed twice")


def test_unknown_compiler(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.transactionCompilers": ["lineItems", "tips"]}))
    assert "distributors.bonus.transactionCompilers[1]: unknown transaction compiler 'tips'" in message
    assert "(valid: lineItems, discounts, fees, shipping, taxes, standard)" in message


def test_unparseable_schedule_names_distributor_and_string(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.schedule": ["first day of next month", "every blue moon"]}))
    assert "distributors.bonus.schedule[1]: " in message and "'every blue moon'" in message


def test_schedule_may_be_a_single_string(tmp_path):
    data = config(**{"distributors.bonus.schedule": "last day of this month"})
    assert load(tmp_path, data).distributors["bonus"].schedule == ("last day of this month",)


def test_missing_schedule_is_required(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.schedule": ...}))
    assert "distributors.bonus.schedule: is required" in message


def test_negative_points(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.engagementTypes": {"boundCouponUsed": -5}}))
    assert message.endswith("distributors.bonus.engagementTypes.boundCouponUsed: points must not be negative, got -5")


@pytest.mark.parametrize("bad", [150, -1, "lots"])
def test_percentage_outside_0_to_100(tmp_path, bad):
    message = error(tmp_path, config(**{"distributors.bonus.revenuePercentage": bad}))
    assert "distributors.bonus.revenuePercentage: " in message


def test_minimum_score_filters_and_carry(tmp_path):
    data = config(**{"distributors.bonus.minimumScore": 50, "distributors.bonus.carryUnspentPool": True,
                     "distributors.bonus.lineItemFilters": {"withSkus": ["A-1"], "inCategories": [4, 7],
                                                           "collaboratorOwned": True}})
    d = load(tmp_path, data).distributors["bonus"]
    assert d.minimum_score == 50 and d.carry_unspent_pool
    assert (d.filters.with_skus, d.filters.in_categories, d.filters.collaborator_owned) == (("A-1",), (4, 7), True)


def test_negative_minimum_score(tmp_path):
    assert "distributors.bonus.minimumScore: minimumScore must not be negative" in error(
        tmp_path, config(**{"distributors.bonus.minimumScore": -1}))


def test_custom_units_and_unit_decimals(tmp_path):
    data = config(**{"distributors.bonus.units": "credits", "distributors.bonus.unitDecimals": 2})
    d = load(tmp_path, data).distributors["bonus"]
    assert (d.units, d.exponent, d.is_currency) == ("credits", 2, False)


def test_unit_decimals_on_a_currency_is_an_error(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.unitDecimals": 0}))
    assert "distributors.bonus.unitDecimals: USD has 2 decimals" in message


def test_lower_case_currency_is_refused(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.units": "usd"}))
    assert message.endswith("distributors.bonus.units: currency codes are upper case: did you mean 'USD'?")


def test_a_distributor_without_engagement_types_warns(tmp_path):
    cfg = load(tmp_path, config(**{"distributors.bonus.engagementTypes": ...}))
    assert any("distributors.bonus.engagementTypes: none set" in w for w in cfg.warnings)


# ------------------------------------------------------------------------------ startsAt and timezone


def test_starts_at_date_is_midnight_in_the_site_timezone(tmp_path):
    text = yaml.safe_dump(BASE).replace("units: USD", "units: USD\n    startsAt: 2026-11-01")
    d = load(tmp_path, text).distributors["bonus"]
    assert d.starts_at == datetime(2026, 11, 1, tzinfo=ZoneInfo("Europe/Paris"))


def test_starts_at_with_offset_is_kept(tmp_path):
    d = load(tmp_path, config(**{"distributors.bonus.startsAt": "2026-11-01T08:00:00+02:00"})).distributors["bonus"]
    assert d.starts_at == datetime(2026, 11, 1, 6, tzinfo=UTC)


def test_starts_at_waits_for_an_auto_timezone(tmp_path):
    cfg = load(tmp_path, config(**{"site.timezone": "auto", "distributors.bonus.startsAt": "2026-03-29T02:30:00"}))
    assert cfg.distributors["bonus"].starts_at is None
    assert cfg.local_starts == {"bonus": datetime(2026, 3, 29, 2, 30)}
    ready = cfg.with_timezone("Europe/Paris")
    start = ready.distributors["bonus"].starts_at
    assert start.utcoffset() == timedelta(hours=2) and (start.hour, start.minute) == (3, 30)  # DST gap, as PHP
    assert ready.site.timezone == "Europe/Paris" and ready.local_starts == {}
    assert cfg.with_timezone(ZoneInfo("UTC")).distributors["bonus"].starts_at.hour == 2


def test_bad_starts_at(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.startsAt": "next tuesday"}))
    assert "distributors.bonus.startsAt: expected a date" in message


# ------------------------------------------------------------------------------ recipes


def test_recipe_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "recipes").mkdir()
    recipe = json.loads((ROOT / "config/recipes/monthly-sales-bonus.json").read_text())
    (tmp_path / "recipes" / "mine.json").write_text(json.dumps(recipe))
    cfg = load(tmp_path, config(recipes=["recipes/mine.json", "builtin:instructor-revenue-share"]))
    assert list(cfg.distributors) == ["bonus", "monthlySalesBonus", "instructorRevenueShare"]


def test_recipe_key_colliding_with_config_is_an_error(tmp_path):
    data = config(recipes=["builtin:milestone-rewards"],
                  **{"distributors.milestoneRewards": BASE["distributors"]["bonus"]})
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == (f"builtin:milestone-rewards: distributors.milestoneRewards: distributor key "
                               f"'milestoneRewards' is already defined at {path}: distributors.milestoneRewards")


def test_unknown_builtin_recipe(tmp_path):
    message = error(tmp_path, config(recipes=["builtin:milestone-reward"]))
    assert "recipes[0]: unknown builtin recipe 'milestone-reward'; did you mean 'milestone-rewards'?" in message


def test_missing_recipe_file(tmp_path):
    assert "recipes[0]: file not found: " in error(tmp_path, config(recipes=["nope.json"]))


def test_recipe_errors_name_the_recipe_file(tmp_path):
    bad = {"version": 1, "name": "x", "distributors": {"k": {"distributionResolver": "topScoreWins", "units": "USD",
                                                              "schedule": ["monday"], "revenuePercentage": 101}}}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ConfigError) as info:
        load(tmp_path, config(recipes=["bad.json"]))
    assert str(info.value).startswith(f"{tmp_path / 'bad.json'}: distributors.k.revenuePercentage: ")


def test_recipe_json_syntax_error_names_the_line(tmp_path):
    (tmp_path / "broken.json").write_text('{\n"version": 1,\n"distributors": {,}\n}')
    with pytest.raises(ConfigError, match=r"broken\.json: line 3: invalid JSON"):
        load(tmp_path, config(recipes=["broken.json"]))


def test_recipe_programs_are_ignored_with_a_warning(tmp_path):
    recipe = json.loads((ROOT / "config/recipes/milestone-rewards.json").read_text())
    recipe["programs"] = {"affiliates": {"name": "Affiliates"}}
    (tmp_path / "combo.json").write_text(json.dumps(recipe))
    cfg = load(tmp_path, config(recipes=["combo.json"]))
    assert "milestoneRewards" in cfg.distributors
    assert any(w.startswith(f"{tmp_path / 'combo.json'}: programs: ") for w in cfg.warnings)


def test_a_list_of_siren_distributors_is_keyed_by_name():
    record = dict(BASE["distributors"]["bonus"], name="Monthly Sales Bonus", id=1)
    keys = [d.key for d in load_distributor_json([record, dict(record, name="Top 10 Club")], "list.json")]
    assert keys == ["monthlySalesBonus", "top10Club"]


def test_a_naive_starts_at_needs_a_timezone_outside_a_config():
    record = dict(BASE["distributors"]["bonus"], name="B", startsAt="2026-11-01")
    with pytest.raises(ConfigError, match=r"^r\.json: startsAt: has no UTC offset"):
        load_distributor_json(record, "r.json")
    (d,) = load_distributor_json(record, "r.json", site_timezone="UTC")
    assert d.starts_at == datetime(2026, 11, 1, tzinfo=ZoneInfo("UTC"))


def test_woocommerce_read_ahead_is_on_by_default_and_can_be_turned_off(tmp_path):
    from siren_sync.sources.woocommerce import WooCommerceSource

    assert WooCommerceSource.from_config(load(tmp_path, BASE)).read_ahead is True
    off = load(tmp_path, config(**{"sync.woocommerce.read_ahead": False}))
    assert WooCommerceSource.from_config(off).read_ahead is False
    assert "sync.woocommerce.read_ahead" in error(tmp_path, config(**{"sync.woocommerce.read_ahead": "sometimes"}))


@pytest.mark.parametrize("key", ["bonus-", "big--bonus", "-bonus", "bonus pool"])
def test_a_distributor_key_wordpress_would_change_in_a_slug_is_refused(tmp_path, key):
    """The record's slug holds the key; WordPress merges '--' and trims '-', so the lookup by slug
    before posting would miss the post and post it again."""
    data = config()
    data["distributors"][key] = data["distributors"].pop("bonus")
    assert "single '-' between them" in error(tmp_path, data)


def test_distributor_keys_with_single_dashes_and_underscores_load(tmp_path):
    data = config()
    data["distributors"]["monthly-sales_bonus-2"] = data["distributors"].pop("bonus")
    assert list(load(tmp_path, data).distributors) == ["monthly-sales_bonus-2"]
