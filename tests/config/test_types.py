"""What a loaded config is: Secrets that never show, and the site timezone arriving late."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from siren_sync.config import Secret
from tests.config.helpers import config, load


def test_secrets_never_show():
    assert "hunter2" not in repr(Secret("hunter2")) + str(Secret("hunter2"))


def test_secrets_never_show_inside_a_loaded_config(tmp_path):
    cfg = load(tmp_path, config(**{"site.woocommerce": {"consumer_key": "ck_live_1", "consumer_secret": "cs_live_2"},
                                   "site.wordpress": {"user": "admin", "application_password": "abcd efgh"}}))
    shown = f"{cfg!r} {cfg} {cfg.site!r} {cfg.site.wc_secret} {cfg.site.wp_app_password!r}"
    assert "cs_live_2" not in shown and "ck_live_1" not in shown and "abcd efgh" not in shown
    assert cfg.site.wc_secret.value == "cs_live_2" and "***" in shown


def test_starts_at_waits_for_an_auto_timezone(tmp_path):
    cfg = load(tmp_path, config(**{"site.timezone": "auto", "distributors.bonus.startsAt": "2026-03-29T02:30:00"}))
    assert cfg.distributors["bonus"].starts_at is None
    assert cfg.local_starts == {"bonus": datetime(2026, 3, 29, 2, 30)}
    ready = cfg.with_timezone("Europe/Paris")
    start = ready.distributors["bonus"].starts_at
    assert start.utcoffset() == timedelta(hours=2) and (start.hour, start.minute) == (3, 30)  # DST gap, as PHP
    assert ready.site.timezone == "Europe/Paris" and ready.local_starts == {}
    assert cfg.with_timezone(ZoneInfo("UTC")).distributors["bonus"].starts_at.hour == 2
