"""The wiring every command and the worker share (siren_sync/app.py): the site timezone (the
config's, or with `timezone: auto` the site's, asked once and remembered in the store), the
collaborators (the config's over those read from the site), and a store released whatever fails."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from siren_sync.app import collaborators_of, open_app
from siren_sync.config import Config, load_config
from siren_sync.errors import ConfigError
from siren_sync.store import Store
from siren_sync.tables import META, SITE_COLLABORATORS
from tests.support.cli import collab_yaml, dist_yaml

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def configure(site):
    """`configure(timezone)`: the site's config (alice and bob, a monthly pool from 2026-11-01) in that zone."""
    def make(timezone: str) -> Config:
        path = site.config(collab_yaml(["alice", "bob"]), dist_yaml())
        path.write_text(path.read_text().replace("timezone: UTC", f'timezone: "{timezone}"'))
        return load_config(path)
    return make


class Site:
    """The site's REST index, counting how often it is asked for the timezone."""

    def __init__(self, name: str = "Europe/Paris"):
        self.name, self.asked = name, 0

    def __call__(self) -> str:
        self.asked += 1
        return self.name


def never() -> str:
    raise AssertionError("the site was asked for its timezone")


def remembered(config: Config) -> dict | None:
    with Store(config.store_path, readonly=True) as store:
        return store.get(META, "site")


# -- the site timezone -----------------------------------------------------------------------

def test_the_configured_timezone_is_used_and_the_site_never_asked(configure):
    config = configure("Europe/Paris")
    with open_app(config, fetch_timezone=never) as app:
        assert app.tz == PARIS and app.ledger.tz == PARIS
        assert app.ledger.open_period("pool")[0] == datetime(2026, 11, 1, tzinfo=PARIS)  # startsAt, Paris midnight
    assert remembered(config) is None


def test_a_fixed_offset_is_a_timezone(configure):
    with open_app(configure("+05:30")) as app:
        assert app.tz.utcoffset(None) == timedelta(hours=5, minutes=30)


def test_auto_asks_the_site_once_and_remembers_its_answer(configure):
    config, site = configure("auto"), Site("America/New_York")
    with open_app(config, fetch_timezone=site) as app:
        assert app.tz == ZoneInfo("America/New_York")
        assert app.ledger.open_period("pool")[0].isoformat() == "2026-11-01T00:00:00-04:00"
    assert remembered(config) == {"timezone": "America/New_York"} and site.asked == 1
    with open_app(config, fetch_timezone=never) as again:
        assert again.tz == ZoneInfo("America/New_York")


def test_auto_read_only_before_any_writer_asks_the_site_and_writes_nothing(configure):
    config, site = configure("auto"), Site()
    with open_app(config, readonly=True, fetch_timezone=site) as app:
        assert app.tz == PARIS and site.asked == 1
    assert not config.store_path.exists()


def test_auto_never_read_and_nobody_to_ask_is_a_config_error_naming_the_file(configure):
    config = configure("auto")
    with pytest.raises(ConfigError) as info:
        open_app(config, readonly=True)
    message = str(info.value)
    assert message.startswith(f"{config.path}: site.timezone: ") and "was never read" in message
    assert "siren-sync sync" in message and info.value.exit_code == 2


def test_a_site_timezone_that_is_no_zone_is_a_config_error(configure):
    with pytest.raises(ConfigError, match=r"site timezone: unknown timezone 'Mars/Olympus'"):
        open_app(configure("auto"), fetch_timezone=Site("Mars/Olympus"))


def test_a_site_timezone_that_is_no_zone_is_not_remembered(configure):
    config = configure("auto")
    with pytest.raises(ConfigError):
        open_app(config, fetch_timezone=Site("Mars/Olympus"))
    with open_app(config, fetch_timezone=Site("Europe/Paris")) as app:  # the site (or tzdata) was fixed
        assert app.tz == PARIS


def test_a_failing_open_releases_the_store(configure):
    config = configure("auto")
    with pytest.raises(ConfigError):
        open_app(config)
    with open_app(config, fetch_timezone=Site()) as app:  # the writer's lock was released
        assert app.tz == PARIS


def test_closing_the_app_releases_the_store(configure):
    config = configure("UTC")
    with open_app(config) as app:
        assert app.store.leader().acquire()
        with Store(config.store_path) as other:
            assert not other.leader().acquire()  # a second worker on this TinyDB store is refused
    with Store(config.store_path) as writer:
        assert writer.leader().acquire()  # the app's lead went with it
        assert writer.get(META, "site") is None


def test_the_ledger_starts_at_the_time_given(configure):
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    with open_app(configure("UTC"), now=now) as app:
        assert app.ledger.now == now


# -- collaborators ---------------------------------------------------------------------------

SITE_ROWS = {
    "bob": {"id": "bob", "name": "Bob from the site", "email": "bob@site.example", "coupons": ["bob5"]},
    "wpuser9": {"id": "wpuser9", "name": "Nina", "email": "nina@site.example", "status": "pending",
                "wp_user_id": 9, "coupons": ["nina10"], "tracking_ids": ["nina"], "products": [31], "posts": [77]},
}


def test_collaborators_read_from_the_site_join_the_configs_and_the_config_wins(configure):
    config = configure("UTC")
    with Store(config.store_path) as store, store.transaction() as tx:
        tx.put_many(SITE_COLLABORATORS, SITE_ROWS)
    with open_app(config) as app:
        merged = app.ledger.collaborators
        assert sorted(merged) == ["alice", "bob", "wpuser9"]
        assert (merged["bob"].name, merged["bob"].email, merged["bob"].coupons) == ("Bob", "bob@example.com", ())
        nina = merged["wpuser9"]
        assert (nina.status, nina.wp_user_id, nina.coupons, nina.tracking_ids, nina.products, nina.posts) == (
            "pending", 9, ("nina10",), ("nina",), (31,), (77,))
        assert collaborators_of(config, app.store) == merged


def test_a_site_collaborator_without_a_status_is_active(configure):
    config = configure("UTC")
    with Store(config.store_path) as store:
        with store.transaction() as tx:
            tx.put(SITE_COLLABORATORS, "zoe", {"id": "zoe"})
        zoe = collaborators_of(config, store)["zoe"]
    assert zoe.active and (zoe.name, zoe.email, zoe.coupons) == ("", "", ())


def test_without_site_collaborators_the_config_is_all(configure):
    config = configure("UTC")
    with open_app(config) as app:
        assert list(app.ledger.collaborators) == ["alice", "bob"]
