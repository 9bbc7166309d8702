"""sources/registry.py: the one list of sources, and building them from the config."""
from __future__ import annotations

import logging

import pytest
import responses

from siren_sync.errors import ConfigError, UsageError
from siren_sync.model import Collaborator
from siren_sync.sources.access_log import AccessLogSource
from siren_sync.sources.learndash import LearnDashSource
from siren_sync.sources.lifterlms import LifterLMSSource
from siren_sync.sources.registry import EVENT_SOURCES, SOURCES, build_sources
from siren_sync.sources.siren import SirenEngagementsSource
from tests.support.apps import open_test_app
from tests.support.payloads import SITE_ROOT

ALICE = Collaborator(id="alice", tracking_ids=("alice",), wp_user_id=2, posts=(40,))


def test_event_sources_are_those_with_a_builder():
    assert EVENT_SOURCES == ("woocommerce", "lifterlms", "learndash", "access_log", "siren")
    assert SOURCES["collaborators_from_site"].build is None
    assert [name for name, spec in SOURCES.items() if spec.wordpress] == [
        "lifterlms", "learndash", "siren", "collaborators_from_site"]


def test_an_unknown_source_is_a_usage_error_naming_the_valid_ones(tmp_path):
    with open_test_app(tmp_path, [ALICE]) as app:
        with pytest.raises(UsageError) as info:
            build_sources(app.config, app, "wordpres")
    assert str(info.value) == ("unknown source 'wordpres' (valid: woocommerce, lifterlms, learndash, "
                               "access_log, siren)")
    assert info.value.exit_code == 2


@pytest.mark.parametrize("name", ["lifterlms", "learndash", "siren"])
def test_a_wordpress_source_without_credentials_is_a_config_error(tmp_path, name):
    with open_test_app(tmp_path, [ALICE], {name: {"enabled": True}}, wordpress=False) as app:
        with pytest.raises(ConfigError) as info:
            build_sources(app.config, app)
    assert str(info.value) == f"{app.config.path}: sync.{name}: needs site.wordpress.user and application_password"
    assert info.value.exit_code == 2


def test_the_enabled_sources_are_built_or_the_one_asked_for_even_disabled(tmp_path):
    sync = {"lifterlms": {"enabled": True}, "learndash": {"enabled": True},
            "siren": {"enabled": False, "collaborator_ids": {"7": "alice"}}}
    with open_test_app(tmp_path, [ALICE], sync) as app:
        enabled = build_sources(app.config, app)
        (siren,) = build_sources(app.config, app, "siren")
    assert [type(s) for s in enabled] == [LifterLMSSource, LearnDashSource]
    assert [s.name for s in enabled] == ["lifterlms", "learndash"]
    assert enabled[0].site_tz == app.tz and enabled[0].upstream.base_url == SITE_ROOT
    assert isinstance(siren, SirenEngagementsSource) and siren.collaborator_ids == {"7": "alice"}
    assert "alice" in siren.known


@responses.activate
def test_the_access_log_reads_the_bound_posts_from_the_site(tmp_path):
    responses.get(f"{SITE_ROOT}/wp/v2/posts", json=[{"id": 12, "link": "https://shop.example/2026/11/hi/",
                                                      "author": 2}],
                  headers={"X-WP-Total": "1", "X-WP-TotalPages": "1"})
    log_path = tmp_path / "access.log"
    log_path.write_text("")
    with open_test_app(tmp_path, [ALICE], {"access_log": {"enabled": True, "path": str(log_path),
                                                          "visitor_window": "10m"}}) as app:
        (source,) = build_sources(app.config, app)
    assert isinstance(source, AccessLogSource)
    assert (source.path, source.visitor_window, source.post_authors) == (str(log_path), 600.0, {12: 2})
    assert source.check()[0][2].endswith("1 bound post paths, ref param 'ref'")


@responses.activate
def test_the_access_log_still_counts_referred_visits_when_the_site_cannot_say(tmp_path, caplog):
    responses.get(f"{SITE_ROOT}/wp/v2/posts", status=403,
                  json={"code": "rest_forbidden", "message": "Sorry.", "data": {"status": 403}})
    with open_test_app(tmp_path, [ALICE], {"access_log": {"enabled": True}}) as app:
        with caplog.at_level(logging.WARNING, logger="siren_sync.sources"):
            (source,) = build_sources(app.config, app)
    assert isinstance(source, AccessLogSource) and source.post_authors == {}
    assert "access_log: bound posts could not be read from the site (wp/v2/posts: 403 rest_forbidden" in caplog.text
