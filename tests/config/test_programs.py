"""`programs:` and `programGroups:` (DESIGN section 8): what loads, and the one line each mistake gives."""
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.config.helpers import PROGRAM_RECIPES, config, error, load

PEOPLE = [{"id": "alice", "tags": ["ambassador"]}, {"id": "bruno"}]
AFFILIATES = {"name": "Affiliates", "units": "USD", "reward": {"percentage": 25},
              "engagements": ["boundCouponUsed", "referredSiteVisit"]}


def with_program(**changes):
    program = dict(AFFILIATES)
    for key, value in changes.items():
        if value is ...:
            program.pop(key, None)
        else:
            program[key] = value
    return config(collaborators=PEOPLE, programs={"affiliates": program},
                  programGroups={"partners": {"structure": "oldestEngagementWins"}})


def test_a_program_loads_with_defaults(tmp_path):
    p = load(tmp_path, with_program()).programs["affiliates"]
    assert (p.percentage, p.flat, p.units, p.exponent) == (Decimal(25), None, "USD", 2)
    assert p.structure == "newestEngagementWins" and p.window == timedelta(days=30)
    assert p.members is None and p.renewals == 0 and p.clawback and not p.review and p.active
    assert p.compilers == ("lineItems", "discounts") and p.conversion == "sale"


def test_every_field_is_read(tmp_path):
    p = load(tmp_path, with_program(
        structure="sharedEngagementPool", window="7 days", members=["alice"], group="partners", renewals=3,
        clawback=False, transactionCompilers=["lineItems"], lineItemFilters={"inCategories": [12]}, review=True,
        status="inactive")).programs["affiliates"]
    assert (p.structure, p.window, p.members, p.group, p.group_structure) == (
        "sharedEngagementPool", timedelta(days=7), frozenset({"alice"}), "partners", "oldestEngagementWins")
    assert (p.renewals, p.clawback, p.compilers, p.filters.in_categories, p.review, p.active) == (
        3, False, ("lineItems",), (12,), True, False)


def test_members_by_tag_and_renewals_true(tmp_path):
    p = load(tmp_path, with_program(members={"tag": "ambassador"}, renewals=True)).programs["affiliates"]
    assert p.members == frozenset({"alice"}) and p.renewals is None


def test_a_tag_nobody_has_is_a_warning_not_an_error(tmp_path):
    cfg = load(tmp_path, with_program(members={"tag": "reseller"}))
    assert cfg.programs["affiliates"].members == frozenset()
    assert any("programs.affiliates.members: no collaborator has the tag 'reseller'" in w for w in cfg.warnings)


def test_a_flat_lead_program_needs_no_engagements(tmp_path):
    lead = with_program(reward={"flat": "10.00"}, conversion="lead", engagements=...)
    p = load(tmp_path, lead).programs["affiliates"]
    assert (p.flat, p.percentage, p.engagements, p.conversion) == (Decimal("10.00"), None, (), "lead")


@pytest.mark.parametrize("changes, message", [
    ({"structure": "firstTouch"}, "programs.affiliates.structure: unknown structure 'firstTouch'"),
    ({"engagements": ["boundCouponUsed", "courseCompleted"]},
     "programs.affiliates.engagements[1]: unknown engagement 'courseCompleted'"),
    ({"engagements": ...}, "programs.affiliates.engagements: is required"),
    ({"group": "resellers"}, "programs.affiliates.group: unknown program group 'resellers'"),
    ({"members": ["alice", "carol"]}, "programs.affiliates.members[1]: 'carol' is not a collaborator"),
    ({"reward": {"flat": "50.005"}}, "programs.affiliates.reward.flat: USD has 2 decimals, got '50.005'"),
    ({"reward": {"percentage": 101}}, "programs.affiliates.reward.percentage: percentage must be between 0 and 100"),
    ({"reward": {"percentage": -1}}, "programs.affiliates.reward.percentage: percentage must be between 0 and 100"),
    ({"reward": {"percentage": 5, "flat": "1.00"}}, "programs.affiliates.reward: give exactly one of percentage"),
    ({"reward": ...}, "programs.affiliates.reward: is required"),
    ({"conversion": "lead"}, "programs.affiliates.reward: a lead has no value to take a percentage of"),
    ({"renewals": -1}, "programs.affiliates.renewals: must be at least 0"),
    ({"window": "a month"}, "programs.affiliates.window: expected a duration"),
    ({"units": "usd"}, "programs.affiliates.units: currency codes are upper case: did you mean 'USD'?"),
    ({"payout": 1}, "programs.affiliates.payout: unknown key"),
])
def test_mistakes_are_one_line_naming_file_and_key(tmp_path, changes, message):
    assert message in error(tmp_path, with_program(**changes))


def test_a_group_structure_must_be_oldest_or_newest(tmp_path):
    data = with_program()
    data["programGroups"] = {"partners": {"structure": "sharedEngagementPool"}}
    assert "programGroups.partners.structure: unknown group structure" in error(tmp_path, data)


def test_a_program_key_cannot_be_a_distributor_key(tmp_path):
    data = with_program()
    data["programs"] = {"Bonus": AFFILIATES}
    assert "programs.Bonus: key 'Bonus' is already used at" in error(tmp_path, data)


def test_collaborator_tags_are_read(tmp_path):
    cfg = load(tmp_path, config(collaborators=PEOPLE))
    assert [c.tags for c in cfg.collaborators] == [("ambassador",), ()]


@pytest.mark.parametrize("recipe", PROGRAM_RECIPES, ids=lambda p: p.stem)
def test_each_program_recipe_loads_by_name(tmp_path, recipe):
    cfg = load(tmp_path, config(collaborators=PEOPLE, recipes=[f"builtin:{recipe.stem}"]))
    assert cfg.programs and all(p.units == "USD" and p.active for p in cfg.programs.values())


def test_the_program_recipes_are_what_design_describes(tmp_path):
    def programs(name):
        return load(tmp_path, config(collaborators=PEOPLE, recipes=[f"builtin:{name}"])).programs
    stack = programs("affiliate-and-royalty-stack")
    assert stack["affiliates"].percentage == 25 and stack["royalties"].percentage == 50
    assert stack["royalties"].engagements == ("collaboratorProductSold",) and not any(p.group for p in stack.values())
    (b2b,) = programs("b2b-referral").values()
    assert b2b.flat == Decimal("50.00") and b2b.structure == "oldestEngagementWins"
    dual = programs("ambassador-and-affiliate")
    assert dual["ambassadors"].members == frozenset({"alice"}) and dual["ambassadors"].percentage == 30
    combo = programs("affiliate-and-lead-gen")
    assert {p.group for p in combo.values()} == {"affiliateAndLeads"}
    assert {p.group_structure for p in combo.values()} == {"oldestEngagementWins"}
    assert combo["leadBounty"].conversion == "lead" and combo["leadBounty"].flat == Decimal("10.00")


def test_the_example_s_commented_programs_load_once_uncommented(tmp_path):
    from siren_sync.config import load_config
    from tests.config.helpers import EXAMPLE_ENV, ROOT

    text = (ROOT / "config" / "siren.example.yaml").read_text()
    head, tail = text.split("# programs:\n")
    uncommented = "programs:\n" + "".join(line[2:] + "\n" for line in tail.splitlines())
    path = tmp_path / "siren.yaml"
    path.write_text(head.replace("    # tags: [ambassador]", "    tags: [ambassador]") + uncommented)
    cfg = load_config(path, env=EXAMPLE_ENV)
    assert set(cfg.programs) == {"affiliates", "leads"} and cfg.programs["affiliates"].group == "partners"
