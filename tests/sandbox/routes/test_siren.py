"""sandbox/routes/siren.py: Siren's engagements, silently capped at 50 a page, and its error shape."""
from __future__ import annotations

from tests.support.loopback import rest


def test_siren_engagements_minimal(sb, wp):
    r = wp.get(rest(sb, "siren/v1/engagements"), params={"number": 500, "orderBy": "id", "order": "DESC"})
    assert r.status_code == 200 and len(r.json()) == 50  # silently capped
    assert int(r.headers["x-siren-estimated-count"]) > 50
    ids = [e["id"] for e in r.json()]
    assert ids == sorted(ids, reverse=True)
    assert set(r.json()[0]) == {"id", "opportunityId", "programId", "collaboratorId", "score", "status",
                                "dateCreated", "dateModified"}
    assert wp.get(rest(sb, f"siren/v1/engagements/{ids[0]}")).json()["id"] == ids[0]
    assert wp.get(rest(sb, "siren/v1/engagements"), params={"number": "x"}).json()["context"]["failedValidations"]
