"""The one serialization of the store: compact, strict JSON, UTF-8."""
from __future__ import annotations

import math
from decimal import Decimal

import pytest

from siren_sync.store.codec import copy_json, dumps


def test_dumps_is_compact_utf8_and_keeps_the_order():
    assert dumps({"b": [1, 2.5, None, True], "a": "é\n"}) == '{"b":[1,2.5,null,true],"a":"é\\n"}'.encode()


@pytest.mark.parametrize("value", [math.nan, math.inf, Decimal("1.00"), {1, 2}, b"x"])
def test_dumps_refuses_what_is_not_plain_json(value):
    with pytest.raises((TypeError, ValueError)):
        dumps({"v": value})


def test_copy_json_is_a_deep_copy_and_a_proof():
    doc = {"nested": {"list": [1]}}
    copy = copy_json(doc)
    copy["nested"]["list"].append(2)
    assert doc == {"nested": {"list": [1]}}
    with pytest.raises(TypeError):
        copy_json({"amount": Decimal("1.00")})
