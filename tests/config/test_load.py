"""load_config and the sections it checks (site, store, sync, collaborators, publish, payouts)."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siren_sync.config import DEFAULT_PATH, load_config
from siren_sync.errors import ConfigError
from tests.config.helpers import BASE, EXAMPLE_ENV, ROOT, config, error, load, write

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


def test_default_path_is_config_siren_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert DEFAULT_PATH == "config/siren.yaml"
    with pytest.raises(ConfigError, match=r"^config/siren\.yaml: file not found$"):
        load_config(env={})


def test_missing_config_file_names_it(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_config(tmp_path / "nope.yaml", env={})


def test_a_folder_is_not_a_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r": is a folder, not a config file$"):
        load_config(tmp_path, env={})


def test_empty_file(tmp_path):
    assert error(tmp_path, "").endswith(": the file is empty (see config/siren.example.yaml)")


def test_unknown_top_level_key_suggests_the_closest(tmp_path):
    message = error(tmp_path, config(distributers={}))
    assert message.endswith(": distributers: unknown key; did you mean 'distributors'?")


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


def test_a_user_without_an_application_password_is_an_error(tmp_path):
    message = error(tmp_path, config(**{"site.wordpress": {"user": "admin"}}))
    assert message.endswith("site.wordpress.application_password: is required with user")


def test_a_secret_of_the_wrong_type_is_not_shown(tmp_path):
    message = error(tmp_path, config(**{"site.woocommerce.consumer_secret": 123456789}))
    assert message.endswith("site.woocommerce.consumer_secret: expected a string, got something else")


def test_enabled_source_without_credentials_warns(tmp_path):
    """A warning, not an error: the sandbox or a loopback site may answer without credentials."""
    cfg = load(tmp_path, config(**{"sync.learndash": {"enabled": True}}))
    assert any(w.endswith("sync.learndash.enabled: no site.wordpress.user and application_password")
               for w in cfg.warnings)


# ------------------------------------------------------------------------------ sync and publish


def test_woocommerce_read_ahead_is_on_by_default_and_can_be_turned_off(tmp_path):
    from siren_sync.sources.woocommerce import WooCommerceSource

    assert WooCommerceSource.from_config(load(tmp_path, BASE)).read_ahead is True
    off = load(tmp_path, config(**{"sync.woocommerce.read_ahead": False}))
    assert WooCommerceSource.from_config(off).read_ahead is False
    assert "sync.woocommerce.read_ahead" in error(tmp_path, config(**{"sync.woocommerce.read_ahead": "sometimes"}))


def test_woocommerce_visitor_created_via_defaults_to_the_checkouts_and_takes_a_list_of_names(tmp_path):
    from siren_sync.sources.woocommerce import WooCommerceSource

    assert WooCommerceSource.from_config(load(tmp_path, BASE)).refs.visitor_channels == {"checkout", "store-api"}
    mine = load(tmp_path, config(**{"sync.woocommerce.visitor_created_via": ["checkout", "kandi-storefront"]}))
    assert WooCommerceSource.from_config(mine).refs.visitor_channels == {"checkout", "kandi-storefront"}
    none = load(tmp_path, config(**{"sync.woocommerce.visitor_created_via": []}))  # no order matched by visitor
    assert WooCommerceSource.from_config(none).refs.visitor_channels == frozenset()
    message = error(tmp_path, config(**{"sync.woocommerce.visitor_created_via": ["checkout", ""]}))
    assert "sync.woocommerce.visitor_created_via[1]" in message
    assert "sync.woocommerce.visitor_created_via" in error(
        tmp_path, config(**{"sync.woocommerce.visitor_created_via": {"checkout": True}}))


def test_unknown_source_option_suggests_the_closest(tmp_path):
    message = error(tmp_path, config(**{"sync.woocommerce": {"paid_status": ["completed"]}}))
    assert message.endswith("sync.woocommerce.paid_status: unknown key; did you mean 'paid_statuses'?")


def test_publish_route_must_be_under_wp_json(tmp_path):
    message = error(tmp_path, config(publish={"rest_route": "wp-json/wp/v2/posts"}))
    assert "publish.rest_route: expected a route under /wp-json/ such as wp/v2/posts" in message


def test_publish_without_wordpress_credentials_warns(tmp_path):
    assert any(w.endswith("publish: no site.wordpress credentials: records stay queued until given")
               for w in load(tmp_path, BASE).warnings)


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


def test_bad_collaborator_email(tmp_path):
    message = error(tmp_path, collaborators({"id": "a", "email": "alice at example.com"}))
    assert message.endswith("collaborators[0].email: not an email address: 'alice at example.com'")


# ---------------------------------------------------------------------------------- payouts


def test_payouts_defaults_and_values(tmp_path):
    default = load(tmp_path, config())
    assert (default.payouts.review, default.payouts.hold, dict(default.payouts.minimum), default.payouts.note) == (
        False, timedelta(0), {}, "")
    assert default.distributors["bonus"].review is False and default.distributors["bonus"].hold == timedelta(0)
    c = load(tmp_path, config(payouts={"review": True, "hold": "30 days", "minimum": {"USD": "50.00", "JPY": 1000},
                                       "note": "Rewards from Example Shop"}))
    assert c.payouts.minimum == {"USD": Decimal("50.00"), "JPY": Decimal(1000)}
    assert c.payouts.note == "Rewards from Example Shop"
    assert c.distributors["bonus"].review is True and c.distributors["bonus"].hold == timedelta(days=30)


@pytest.mark.parametrize("hold, days", [("2 weeks", 14), ("1 week 2 days", 9), ("12 hours", 0.5), ("1d", 1), (0, 0)])
def test_a_hold_in_words(tmp_path, hold, days):
    assert load(tmp_path, config(payouts={"hold": hold})).payouts.hold == timedelta(days=days)


def test_a_distributors_own_review_and_hold_win(tmp_path):
    c = load(tmp_path, config(**{"payouts": {"review": True, "hold": "30 days"},
                                 "distributors.bonus.payouts": {"review": False, "hold": "7 days"}}))
    assert c.distributors["bonus"].review is False and c.distributors["bonus"].hold == timedelta(days=7)
    c = load(tmp_path, config(**{"payouts": {"hold": "30 days"}, "distributors.bonus.payouts": {"review": True}}))
    assert c.distributors["bonus"].review is True and c.distributors["bonus"].hold == timedelta(days=30)


@pytest.mark.parametrize("changes, message", [
    ({"payouts": {"hold": "-3 days"}}, "payouts.hold: expected a duration such as 30 days, 2 weeks, 12 hours or 0, "
                                       "got '-3 days'"),
    ({"payouts": {"hold": -5}}, "payouts.hold: must be zero or more, got -5"),
    ({"payouts": {"hold": "soon"}}, "payouts.hold: expected a duration"),
    ({"payouts": {"hold": "1 month"}}, "payouts.hold: expected a duration"),
    ({"payouts": {"hold": "99999 days"}}, "payouts.hold: must be at most 3660 days"),
    ({"payouts": {"minimum": {"EURO": "5.00"}}}, "payouts.minimum.EURO: unknown unit 'EURO'; did you mean 'EUR'? (a "
                                                  "currency code, or a unit a distributor or a program pays in: USD)"),
    ({"payouts": {"minimum": {"usd": "5.00"}}}, "payouts.minimum.usd: unknown unit 'usd'; did you mean 'USD'?"),
    ({"payouts": {"minimum": {"USD": "5.001"}}}, "payouts.minimum.USD: USD has 2 decimals, got '5.001'"),
    ({"payouts": {"minimum": {"JPY": 10.5}}}, "payouts.minimum.JPY: JPY has 0 decimals, got 10.5"),
    ({"payouts": {"minimum": {"USD": "-1"}}}, "payouts.minimum.USD: minimum must not be negative"),
    ({"payouts": {"minimum": {"USD": "lots"}}}, "payouts.minimum.USD: expected a number, got 'lots'"),
    ({"payouts": {"minimum": "50"}}, "payouts.minimum: expected a mapping"),
    ({"payouts": {"reveiw": True}}, "payouts.reveiw: unknown key; did you mean 'review'?"),
    ({"payouts": {"review": "maybe"}}, "payouts.review: expected true or false"),
    ({"payouts": {"note": "x" * 401}}, "payouts.note: PayPal takes at most 400 characters, got 401"),
    ({"payouts": {"note": "two\nlines"}}, "payouts.note: must be one line without control characters"),
    ({"distributors.bonus.payouts": {"minimum": {"USD": 5}}}, "distributors.bonus.payouts.minimum: is set in the "
                                                               "top-level payouts: section only"),
    ({"distributors.bonus.payouts": {"hold": "-1"}}, "distributors.bonus.payouts.hold: expected a duration"),
])
def test_payouts_mistakes_are_one_line_naming_file_and_key(tmp_path, changes, message):
    assert message in error(tmp_path, config(**changes))


def test_a_custom_unit_minimum_takes_the_distributors_decimals(tmp_path):
    c = load(tmp_path, config(**{"distributors.bonus.units": "credits", "distributors.bonus.unitDecimals": 1,
                                 "payouts": {"minimum": {"credits": "2.5"}}}))
    assert c.payouts.minimum == {"credits": Decimal("2.5")}
    assert "payouts.minimum.credits: credits has 1 decimal, got '2.55'" in error(tmp_path, config(**{
        "distributors.bonus.units": "credits", "distributors.bonus.unitDecimals": 1,
        "payouts": {"minimum": {"credits": "2.55"}}}))


# -- identifiers that look the same are the same (issue 15) ---------------------------------------

def test_ids_coupons_and_tracking_ids_are_unicode_normalised(tmp_path):
    cfg = load(tmp_path, config(collaborators=[{"id": "jose\u0301", "coupons": ["CAFE\u0301"],
                                                "tracking_ids": ["re\u0301mi"]}]))
    [c] = cfg.collaborators
    assert (c.id, c.coupons, c.tracking_ids) == ("jos\u00e9", ("caf\u00e9",), ("r\u00e9mi",))


@pytest.mark.parametrize("style", ["mapping", "one line each"])
def test_two_ids_equal_once_normalised_are_a_config_error(tmp_path, style):
    if style == "mapping":
        data = config(collaborators=[{"id": "jos\u00e9"}, {"id": "jose\u0301"}])
    else:
        data = 'site: {url: "https://x.example"}\ncollaborators:\n  - {id: jos\u00e9}\n  - {id: jose\u0301}\n'
    message = error(tmp_path, data)
    assert message.endswith("collaborators[1].id: 'jose\\u0301' and collaborators[0].id 'jos\\xe9' are the same "
                            "id 'jos\u00e9' once Unicode-normalised (NFC): they print alike, so they must be one "
                            "collaborator")


def test_the_same_coupon_typed_two_ways_is_bound_twice(tmp_path):
    message = error(tmp_path, config(collaborators=[{"id": "a", "coupons": ["caf\u00e9"]},
                                                    {"id": "b", "coupons": ["CAFE\u0301"]}]))
    assert message.endswith("collaborators[1].coupons: coupon 'caf\u00e9' is already bound to collaborator 'a'")


# -- a long collaborator list (issue 15): the one-line shortcut and YAML agree ---------------------

LIST = """\
site: {url: "https://x.example"}
collaborators:
  - {id: alice, name: Alice Martin, email: alice@example.com, status: active, wp_user_id: 12, coupons: [ALICE10]}
  - {id: bruno, name: "Bruno: B", status: pending, products: [93, 94], tracking_ids: [bruno]}
"""


def test_a_one_line_list_loads_as_the_same_list_in_block_style(tmp_path):
    import yaml
    fast = load(tmp_path, LIST).collaborators
    block = yaml.safe_dump(yaml.safe_load(LIST), sort_keys=False, default_flow_style=False)
    assert "- id: alice" in block and load(tmp_path, block).collaborators == fast
    assert [c.id for c in fast] == ["alice", "bruno"] and fast[1].name == "Bruno: B"


def test_an_error_in_a_one_line_list_names_its_key(tmp_path):
    assert error(tmp_path, LIST.replace("status: pending", "status: pendng")).endswith(
        "collaborators[1].status: expected one of active, pending, inactive, got 'pendng'")
    assert error(tmp_path, LIST.replace("wp_user_id: 12", "wp_user_id: 0")).endswith(
        "collaborators[0].wp_user_id: must be at least 1, got 0")
    assert ": line 4: YAML syntax error: duplicate key 'status'" in error(
        tmp_path, LIST.replace("tracking_ids: [bruno]", "status: active"))


def test_a_reference_in_the_list_is_put_in(tmp_path):
    cfg = load(tmp_path, LIST.replace("ALICE10", "\"${ALICE_CODE}\""), env={"ALICE_CODE": "SPRING"})
    assert cfg.collaborators[0].coupons == ("spring",)


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.sampled_from(
    ["", " ", "alice", "Jose\u0301", "a@b.c", "not an email", "active", "pending", "gone", "CODE10"]),
    st.lists(st.one_of(st.integers(-1, 3), st.sampled_from(["", "X", "x", "Caf\u00e9", " "])), max_size=3))


_CODES = st.lists(st.sampled_from(["X", "x", "Caf\u00e9", "CAFE\u0301"]), max_size=3)
_IDS = st.lists(st.integers(0, 3), max_size=3)
_GOOD = {"name": st.sampled_from(["Alice", "", None]), "email": st.sampled_from(["a@b.c", ""]),
         "status": st.sampled_from(["active", "pending", "inactive"]), "wp_user_id": st.integers(1, 3),
         "coupons": st.one_of(_CODES, st.just("ONE")), "tracking_ids": _CODES, "products": st.one_of(_IDS, st.just(4)),
         "posts": _IDS}
_OPTIONAL = {key: st.one_of(good, good, good, good, _VALUES) for key, good in _GOOD.items()} | {"nick": _VALUES}


@settings(max_examples=500, deadline=None)
@given(st.fixed_dictionaries({"id": st.sampled_from(["alice", "Jose\u0301", 7, "", " ", None, True, ["x"]])},
                             optional=_OPTIONAL))
def test_the_quick_collaborator_check_agrees_with_the_thorough_one(raw):
    """What a large config's load takes without looking closely is exactly what the thorough check takes."""
    from siren_sync.config.load import _collaborator, _plain_collaborator
    from siren_sync.config.validate import At
    quick = _plain_collaborator(raw)
    try:
        thorough = _collaborator(At("f")[0], raw)
    except ConfigError:
        assert quick is None, raw
    else:
        assert quick in (None, thorough), raw


# ------------------------------------------------------------------------------ store


def test_store_url_takes_postgres_and_postgresql_and_the_site_host_as_namespace(tmp_path):
    for scheme in ("postgres", "postgresql"):
        cfg = load(tmp_path, config(store={"url": "${DATABASE_URL}"}),
                   env={"DATABASE_URL": f"{scheme}://app:s3cret@db.example:5432/site?sslmode=require"})
        store = cfg.store
        assert store.url is not None and store.url.value.startswith(f"{scheme}://app:s3cret@")
        assert store.namespace == "shop.example.com" and store.leader_timeout == 30
        assert store.describe() == f"{scheme}://app@db.example:5432/site?sslmode=require (namespace shop.example.com)"
        assert "s3cret" not in repr(cfg) and "s3cret" not in store.describe()


def test_store_namespace_and_leader_timeout_can_be_set_and_a_port_is_part_of_the_host(tmp_path):
    cfg = load(tmp_path, config(**{"site.url": "http://127.0.0.1:8080",
                                   "store": {"url": "postgresql:///siren?host=/run/pg", "leader_timeout": "1m"}}))
    assert cfg.store.namespace == "127.0.0.1:8080" and cfg.store.leader_timeout == 60
    cfg = load(tmp_path, config(store={"url": "postgresql://h/db", "namespace": "shop-eu"}))
    assert cfg.store.namespace == "shop-eu"


@pytest.mark.parametrize("store, message", [
    ({"url": "mysql://app:s3cret@db/site"}, r"store\.url: expected a postgres:// or postgresql:// URL, got mysql://$"),
    ({"url": ""}, r"store\.url: must not be empty$"),
    ({"url": "postgres://h/db", "path": "x.json"}, r"store: give store\.path \(TinyDB\) or store\.url \(PostgreSQL\)"),
    ({"path": "x.json", "namespace": "a"}, r"store\.namespace: applies to a PostgreSQL store only"),
    ({"leader_timeout": "30s"}, r"store\.leader_timeout: applies to a PostgreSQL store only"),
    ({"url": "postgres://h/db", "leader_timeout": "2s"}, r"store\.leader_timeout: must be at least 3s"),
    ({"url": "postgres://h/db", "namespace": "a\nb"}, r"store\.namespace: expected printable text"),
    ({"url": "postgres://h/db", "bogus": 1}, r"store\.bogus: unknown key; valid keys: path, url, namespace"),
])
def test_store_mistakes_are_one_line_and_never_show_the_password(tmp_path, store, message):
    text = error(tmp_path, config(store=store))
    assert "s3cret" not in text
    assert re.search(message, text), text
