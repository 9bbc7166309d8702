"""Properties of the engine over random pools and standings (hypothesis): no cent lost or invented."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from siren_sync.engine.closing import close
from siren_sync.engine.resolvers import _largest, split
from siren_sync.model import RESOLVERS, Distributor, Standing
from siren_sync.values import iso

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


@st.composite
def pools(draw):
    """A pool from 0 to 1e7 in a unit of 0, 2 or 3 decimals, and that exponent."""
    exponent = draw(st.sampled_from([0, 2, 3]))
    units = draw(st.integers(min_value=0, max_value=10 ** (7 + exponent)))
    return Decimal(units).scaleb(-exponent), exponent


@st.composite
def standing_lists(draw):
    """1..50 distinct collaborators with scores 0..1e6 (some fractional), some with scoring times."""
    ids = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=50, unique=True))
    scores = st.one_of(st.integers(0, 10 ** 6).map(Decimal),
                       st.integers(0, 10 ** 7).map(lambda n: Decimal(n).scaleb(-1)))
    times = st.one_of(st.none(), st.integers(0, 5).map(lambda h: iso(EPOCH + timedelta(hours=h))))
    return [Standing(c, draw(scores), draw(times)) for c in ids]


@settings(max_examples=300, deadline=None)
@given(pool=pools(), standings=standing_lists(), resolver=st.sampled_from(RESOLVERS))
def test_every_resolver_adds_up_exactly(pool, standings, resolver):
    amount, exponent = pool
    result = split(resolver, amount, standings, exponent)
    anyone = any(s.score > 0 for s in standings)
    assert sum((a.amount for a in result), Decimal(0)) == (amount if anyone else 0)
    for a in result:
        assert a.amount > 0
        assert a.amount.as_tuple().exponent == -exponent
    assert len({a.collaborator for a in result}) == len(result)
    assert result == sorted(result, key=lambda a: (-a.amount, a.collaborator))


@settings(max_examples=300, deadline=None)
@given(pool=pools(), standings=standing_lists(), resolver=st.sampled_from(("performanceSharedPool",
                                                                           "sharedEngagementPool")))
def test_a_higher_standing_never_gets_less(pool, standings, resolver):
    """Split orders its result relying on this: in scoring's order, amounts never go up (topScoreWins
    pays one collaborator, whom a tie may pick by time)."""
    amount, exponent = pool
    ranked = sorted(standings, key=lambda s: (-s.score, s.collaborator))
    paid = {a.collaborator: a.amount for a in split(resolver, amount, ranked, exponent)}
    in_order = [paid.get(s.collaborator, Decimal(0)) for s in ranked if s.score > 0]
    assert in_order == sorted(in_order, reverse=True)


@settings(max_examples=300, deadline=None)
@given(pool=pools(), standings=standing_lists())
def test_performance_shares_are_within_one_unit_of_exact(pool, standings):
    amount, exponent = pool
    qualified = {s.collaborator: s.score for s in standings if s.score > 0}
    result = {a.collaborator: a.amount for a in split("performanceSharedPool", amount, standings, exponent)}
    total = sum(Fraction(v) for v in qualified.values())
    unit = Fraction(1, 10 ** exponent)
    for who, score in qualified.items():
        exact = Fraction(amount) * Fraction(score) / total
        assert abs(Fraction(result.get(who, Decimal(0))) - exact) < unit


@settings(max_examples=200, deadline=None)
@given(pool=pools(), standings=standing_lists())
def test_top_score_pays_a_highest_score(pool, standings):
    amount, exponent = pool
    result = split("topScoreWins", amount, standings, exponent)
    if result:
        assert len(result) == 1
        assert result[0].score == max(s.score for s in standings)


@settings(max_examples=200, deadline=None)
@given(pool=pools(), standings=standing_lists())
def test_shared_shares_differ_by_at_most_one_unit(pool, standings):
    amount, exponent = pool
    result = split("sharedEngagementPool", amount, standings, exponent)
    qualified = sum(1 for s in standings if s.score > 0)
    if result and len(result) == qualified:
        assert max(a.amount for a in result) - min(a.amount for a in result) <= Decimal(1).scaleb(-exponent)


@settings(max_examples=150, deadline=None)
@given(resolver=st.sampled_from(RESOLVERS), exponent=st.sampled_from([0, 2, 3]),
       revenue=st.integers(-10 ** 8, 10 ** 9), carry_revenue=st.integers(-10 ** 6, 0),
       carry_pool=st.integers(0, 10 ** 5), carry_unspent=st.booleans(),
       counts=st.dictionaries(st.sampled_from(["alice", "bob", "carol", "dan"]),
                              st.dictionaries(st.sampled_from(["boundCouponUsed", "referredSiteVisit", "manual"]),
                                              st.integers(-3, 50), min_size=1), max_size=4))
def test_close_is_pure_and_keeps_the_books(resolver, exponent, revenue, carry_revenue, carry_pool,
                                           carry_unspent, counts):
    distributor = Distributor(key="d", name="D", resolver=resolver, units="USD", exponent=exponent,
                              schedule=("+1 month",), points={"boundCouponUsed": Decimal(5),
                                                              "referredSiteVisit": Decimal(1)},
                              revenue_percentage=Decimal(15), carry_unspent_pool=carry_unspent)
    aggregate = {"revenue": str(Decimal(revenue).scaleb(-2)),
                 "counts": {c: {t: {"qty": q, "last": "2026-11-02T00:00:00+00:00"} for t, q in by.items()}
                            for c, by in counts.items()}}
    carry = {"revenue": str(Decimal(carry_revenue).scaleb(-2)), "pool": str(Decimal(carry_pool).scaleb(-exponent))}
    first = close(distributor, aggregate, carry, lambda c: c != "dan")
    assert first == close(distributor, aggregate, carry, lambda c: c != "dan")
    paid = sum((a.amount for a in first.allocations), Decimal(0))
    assert paid + first.unspent == first.pool
    assert Decimal(first.next_carry["revenue"]) == min(first.revenue, Decimal(0))
    assert Decimal(first.next_carry["pool"]) == (first.unspent if carry_unspent else 0)
    assert all(a.collaborator != "dan" for a in first.allocations)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 4)), min_size=1, max_size=30), st.data())
def test_remainder_units_go_by_remainder_then_score_then_id(rows, data):
    """The left units go to the largest remainders; ties by higher score, then smaller id (DESIGN)."""
    standings = [Standing(f"c{i:02d}", Decimal(score)) for i, (_, score) in enumerate(rows)]
    remainders = [r for r, _ in rows]
    count = data.draw(st.integers(0, len(rows)))
    expected = sorted(range(len(rows)), key=lambda i: (-remainders[i], -standings[i].score, standings[i].collaborator))
    assert _largest(standings, remainders, count) == set(expected[:count])
