"""The lost-store guard's search of the site (`lost_store.site_records`) on a blog whose posts say
"pool" by the thousand: the newest posts are read first, and adopting never works from part of them."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from siren_sync.errors import SyncError
from siren_sync.lost_store import MAX_PAGES, site_records

RECORD = {"id": 0, "slug": "siren-sync-weekly-20261130t0000", "title": "Weekly: ...", "content": "pool 10.00"}


class Blog:
    """A WordPress search answer: `older` posts mentioning "pool" before one siren-sync record and
    `newer` after it, served in the order asked for, 100 a page."""

    def __init__(self, older: int, newer: int):
        self.posts = [{"id": i, "slug": f"pool-party-{i}"} for i in range(1, older + 1)]
        self.posts += [{**RECORD, "id": older + 1}]
        self.posts += [{"id": i, "slug": f"pool-party-{i}"} for i in range(older + 2, older + newer + 2)]

    def pages(self, route, params):
        posts = sorted(self.posts, key=lambda p: p["id"], reverse=params["order"] == "desc")
        for k in range(0, len(posts), 100):
            yield SimpleNamespace(items=posts[k:k + 100], number=k // 100 + 1)


def test_a_record_behind_thousands_of_older_posts_is_found():
    """Before: the search read the oldest posts first and stopped after 5,000: the guard found no
    record, and a lost store closed its periods again (everyone paid twice)."""
    [found] = site_records(Blog(older=MAX_PAGES * 100 + 500, newer=10), "wp/v2/posts", ["weekly"])
    assert found.slug == RECORD["slug"] and found.distributor == "weekly"


def test_adopting_refuses_a_search_it_could_not_read_whole():
    blog = Blog(older=MAX_PAGES * 100, newer=10)
    assert len(site_records(blog, "wp/v2/posts", ["weekly"])) == 1  # the guard: the newest are enough
    with pytest.raises(SyncError, match=r"wp/v2/posts: more than 50 pages of posts match 'pool'.*nothing is adopted"):
        site_records(blog, "wp/v2/posts", ["weekly"], complete=True)
