"""Distributors as Siren writes them: the config's own, recipes (builtin or files) and REST records."""
import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import yaml

from siren_sync.config import builtin_recipes, load_config, load_distributor_json
from siren_sync.errors import ConfigError
from tests.config.helpers import BASE, RECIPES, ROOT, config, error, load, write

# ------------------------------------------------------------------------------ recipes


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_each_recipe_loads_and_ships_in_the_package(tmp_path, recipe):
    (distributor,) = load_distributor_json(json.loads(recipe.read_text()), str(recipe))
    assert distributor.resolver in ("topScoreWins", "performanceSharedPool")
    assert distributor.schedule == ("first day of next month",) and distributor.points
    assert 0 < distributor.revenue_percentage <= 100
    builtin = load(tmp_path, config(recipes=[f"builtin:{recipe.stem}"])).distributors[distributor.key]
    assert builtin == distributor


def test_builtin_recipes_are_the_four_siren_recipes_and_the_four_program_recipes():
    assert builtin_recipes() == ["affiliate-and-lead-gen", "affiliate-and-royalty-stack", "ambassador-and-affiliate",
                                 "b2b-referral", "content-creator-profit-share", "instructor-revenue-share",
                                 "milestone-rewards", "monthly-sales-bonus"]


def test_instructor_recipe_scores_completions_as_siren_describes():
    path = ROOT / "siren_sync/recipes/instructor-revenue-share.json"
    (d,) = load_distributor_json(json.loads(path.read_text()), "r")
    assert d.points == {"courseCompleted": Decimal(10), "lessonCompleted": Decimal(1)}


def test_recipe_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "recipes").mkdir()
    recipe = json.loads((ROOT / "siren_sync/recipes/monthly-sales-bonus.json").read_text())
    (tmp_path / "recipes" / "mine.json").write_text(json.dumps(recipe))
    cfg = load(tmp_path, config(recipes=["recipes/mine.json", "builtin:instructor-revenue-share"]))
    assert list(cfg.distributors) == ["bonus", "monthlySalesBonus", "instructorRevenueShare"]


def test_a_recipe_may_be_yaml(tmp_path):
    recipe = json.loads((ROOT / "siren_sync/recipes/milestone-rewards.json").read_text())
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(recipe))
    assert "milestoneRewards" in load(tmp_path, config(recipes="mine.yaml")).distributors


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
                                                              "schedule": ["next monday"], "revenuePercentage": 101}}}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ConfigError) as info:
        load(tmp_path, config(recipes=["bad.json"]))
    assert str(info.value).startswith(f"{tmp_path / 'bad.json'}: distributors.k.revenuePercentage: ")


def test_recipe_json_syntax_error_names_the_line(tmp_path):
    (tmp_path / "broken.json").write_text('{\n"version": 1,\n"distributors": {,}\n}')
    with pytest.raises(ConfigError, match=r"broken\.json: line 3: invalid JSON"):
        load(tmp_path, config(recipes=["broken.json"]))


def test_recipe_programs_are_read_beside_its_distributors(tmp_path):
    recipe = json.loads((ROOT / "siren_sync/recipes/milestone-rewards.json").read_text())
    recipe["programs"] = {"affiliates": {"name": "Affiliates", "units": "USD", "reward": {"percentage": 10},
                                         "engagements": ["boundCouponUsed"]}}
    (tmp_path / "combo.json").write_text(json.dumps(recipe))
    cfg = load(tmp_path, config(recipes=["combo.json"]))
    assert "milestoneRewards" in cfg.distributors
    assert cfg.programs["affiliates"].percentage == 10


def test_a_recipe_program_error_names_the_recipe_file(tmp_path):
    (tmp_path / "combo.json").write_text(json.dumps({"programs": {"a": {"units": "USD", "reward": {"flat": 5}}}}))
    with pytest.raises(ConfigError, match=r"combo\.json: programs\.a\.engagements: is required"):
        load(tmp_path, config(recipes=["combo.json"]))


def test_a_recipe_version_other_than_1_is_refused():
    with pytest.raises(ConfigError, match=r"^r\.json: version: only recipe version 1 is known, got 2$"):
        load_distributor_json({"version": 2, "distributors": {}}, "r.json")


# ------------------------------------------------------------------------------ Siren REST records


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


def test_a_list_of_siren_distributors_is_keyed_by_name():
    record = dict(BASE["distributors"]["bonus"], name="Monthly Sales Bonus", id=1)
    keys = [d.key for d in load_distributor_json([record, dict(record, name="Top 10 Club")], "list.json")]
    assert keys == ["monthlySalesBonus", "top10Club"]


def test_a_rest_record_without_a_name_has_no_key():
    record = dict(BASE["distributors"]["bonus"])
    with pytest.raises(ConfigError, match=r"^r\.json: name: is required \(a Siren distributor's key is made"):
        load_distributor_json(record, "r.json")


def test_a_naive_starts_at_needs_a_timezone_outside_a_config():
    record = dict(BASE["distributors"]["bonus"], name="B", startsAt="2026-11-01")
    with pytest.raises(ConfigError, match=r"^r\.json: startsAt: has no UTC offset"):
        load_distributor_json(record, "r.json")
    (d,) = load_distributor_json(record, "r.json", site_timezone="UTC")
    assert d.starts_at == datetime(2026, 11, 1, tzinfo=ZoneInfo("UTC"))


# ------------------------------------------------------------------------------ distributor fields


def test_engagement_types_as_list_or_mapping(tmp_path):
    as_list = [{"type": "referredSiteVisit", "value": 1}, {"type": "boundCouponUsed", "value": "2.5"}]
    d = load(tmp_path, config(**{"distributors.bonus.engagementTypes": as_list})).distributors["bonus"]
    assert d.points == {"referredSiteVisit": Decimal(1), "boundCouponUsed": Decimal("2.5")}


def test_yaml_float_points_are_read_as_written(tmp_path):
    d = load(tmp_path, config(**{"distributors.bonus.engagementTypes": {"boundCouponUsed": 0.1},
                                 "distributors.bonus.revenuePercentage": 12.5})).distributors["bonus"]
    assert d.points == {"boundCouponUsed": Decimal("0.1")} and d.revenue_percentage == Decimal("12.5")


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


def test_a_schedule_utf8_cannot_encode_is_a_config_error(tmp_path):
    message = error(tmp_path, 'site: {url: "https://x.example"}\ndistributors:\n  b: {distributionResolver: '
                              'topScoreWins, units: USD, schedule: ["\\ud800"]}\n')
    assert message.endswith("siren.yaml: line 3: YAML syntax error: found invalid Unicode character escape code")
    (tmp_path / "r.json").write_text('{"distributors": {"b": {"distributionResolver": "topScoreWins", '
                                     '"units": "USD", "schedule": ["\\ud800"]}}}')  # JSON takes the lone surrogate
    with pytest.raises(ConfigError, match=r"r\.json: distributors\.b\.schedule\[0\]: .*can't encode"):
        load(tmp_path, 'site: {url: "https://x.example"}\nrecipes: [r.json]\n')


def test_schedule_may_be_a_single_string(tmp_path):
    data = config(**{"distributors.bonus.schedule": "last day of next month"})
    assert load(tmp_path, data).distributors["bonus"].schedule == ("last day of next month",)


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


# ------------------------------------------------------------------------------ startsAt


def test_starts_at_date_is_midnight_in_the_site_timezone(tmp_path):
    text = yaml.safe_dump(BASE).replace("units: USD", "units: USD\n    startsAt: 2026-11-01")
    d = load(tmp_path, text).distributors["bonus"]
    assert d.starts_at == datetime(2026, 11, 1, tzinfo=ZoneInfo("Europe/Paris"))


def test_starts_at_with_offset_is_kept(tmp_path):
    d = load(tmp_path, config(**{"distributors.bonus.startsAt": "2026-11-01T08:00:00+02:00"})).distributors["bonus"]
    assert d.starts_at == datetime(2026, 11, 1, 6, tzinfo=UTC)


def test_starts_at_in_utc_with_z_is_kept(tmp_path):
    d = load(tmp_path, config(**{"distributors.bonus.startsAt": "2026-11-01T08:00:00Z"})).distributors["bonus"]
    assert d.starts_at == datetime(2026, 11, 1, 8, tzinfo=UTC) and d.starts_at.utcoffset().total_seconds() == 0


def test_a_naive_starts_at_is_a_wall_time_in_the_site_timezone(tmp_path):
    d = load(tmp_path, config(**{"distributors.bonus.startsAt": "2026-07-01 08:00"})).distributors["bonus"]
    assert d.starts_at == datetime(2026, 7, 1, 8, tzinfo=ZoneInfo("Europe/Paris"))


def test_bad_starts_at(tmp_path):
    message = error(tmp_path, config(**{"distributors.bonus.startsAt": "next tuesday"}))
    assert "distributors.bonus.startsAt: expected a date" in message


# -- where a schedule or a unit is wrong, said before anything runs (issue 15) --------------------

@pytest.mark.parametrize("schedule,why", [
    (["midnight"], "schedule ['midnight'] does not advance time from 2026-11-01T00:00:00+01:00"),
    (["last day of this month"], "schedule ['last day of this month'] does not advance time from "
                                 "2026-11-30T00:00:00+01:00"),
    (["+1 sec"], "schedule ['+1 sec'] makes a period every 0:00:01: more than 100,000 periods from "
                 "2026-11-01T00:00:00+01:00 to now (use a longer schedule, or a later startsAt)")])
def test_a_schedule_that_cannot_make_periods_names_file_and_key(tmp_path, schedule, why):
    message = error(tmp_path, config(**{"distributors.bonus.schedule": schedule,
                                        "distributors.bonus.startsAt": "2026-11-01"}))
    assert message.endswith(f"siren.yaml: distributors.bonus.schedule: {why}")


@pytest.mark.parametrize("units,meant", [("EURO", "EUR"), ("Euro", "EUR"), ("GPB", "GBP"), ("US", "USD")])
def test_a_unit_one_typo_from_a_currency_suggests_it(tmp_path, units, meant):
    message = error(tmp_path, config(**{"distributors.bonus.units": units}))
    assert message.endswith(f"distributors.bonus.units: unknown currency {units!r}: did you mean {meant!r}? (a "
                            "reward unit one letter away from a currency code is taken for a typo: add customUnit: "
                            f"true to keep {units!r})")


@pytest.mark.parametrize("key", ["customUnit", "custom_unit"])
def test_custom_unit_true_keeps_such_a_unit(tmp_path, key):
    d = load(tmp_path, config(**{"distributors.bonus.units": "XP", f"distributors.bonus.{key}": True})
             ).distributors["bonus"]
    assert (d.units, d.is_currency, d.exponent) == ("XP", False, 0)
    assert "points" == load(tmp_path, config(**{"distributors.bonus.units": "points"})).distributors["bonus"].units
    message = error(tmp_path, config(**{"distributors.bonus.units": "USD", f"distributors.bonus.{key}": True}))
    assert message.endswith(f"distributors.bonus.{key}: USD is an ISO 4217 currency, not a custom unit (drop {key})")
