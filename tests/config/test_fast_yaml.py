"""The shortcut for long collaborator lists: whatever it takes, YAML reads the same; the rest it leaves."""
from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from siren_sync.config.fast_yaml import split_collaborators

HEAD = "site: {url: https://x.example}\ncollaborators:\n"
TAIL = "distributors: {}\n"


def _both(lines: list[str]) -> tuple[object, object]:
    text = HEAD + "".join(lines) + TAIL
    fast = split_collaborators(text)
    try:
        full = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        full = "YAML refuses it"
    if fast is None:
        return None, full
    rest = yaml.load(fast[0], Loader=yaml.SafeLoader)
    assert fast[0].count("\n") == text.count("\n")  # every line keeps its number for YAML's errors
    return {**rest, "collaborators": fast[1]}, full


def test_the_usual_list_reads_as_yaml_reads_it():
    lines = ['  - {id: alice, name: Alice Martin, email: a@example.com, status: active, wp_user_id: 12, '
             'coupons: [ALICE10, Été], tracking_ids: [alice], products: [93, 0], posts: []}\n',
             '  - {id: "b#2", name: "Bruno: the second", coupons: [], products: [7]}\n']
    fast, full = _both(lines)
    assert fast == full and fast["collaborators"][1]["name"] == "Bruno: the second"


UNUSUAL = [
    "  - {id: yes}\n",  # a YAML 1.1 boolean
    "  - {id: alice, on: x}\n",  # a boolean key
    "  - {id: 012}\n",  # octal
    "  - {id: 1.5}\n",  # a float
    "  - {id: 2026-11-01}\n",  # a date
    "  - {id: alice, id: bob}\n",  # a key twice: YAML refuses it
    "  - {id: 'single'}\n",
    '  - {id: "esc\\"aped"}\n',
    "  - {id: alice}  # a comment\n",
    "  - {id: alice, url: http://x}\n",
    "  - {id: ${WHO}}\n",
    "  - id: alice\n    name: Alice\n",  # block style
    "  - {id: alice}\n\n  - {id: bob}\n",  # a blank line
    "  - {id: &a alice}\n",
    "  - {id: alice, coupons: [A, [B]]}\n",
    "  - {id: alice,\n     name: Alice}\n",  # a mapping over two lines
    "  - {id: alice} extra\n",
    "  - {}\n",
    "  - {id: a\rb}\n",  # YAML's other line breaks, tabs, control characters
    "  - {id: a\x85b}\n",
    "  - {id: a\u2028b}\n",
    "  - {id: a\tb}\n",
    "  - {id: a\x07}\n",
]


def test_anything_unusual_is_left_to_yaml():
    for line in UNUSUAL:
        fast, _ = _both([line])
        assert fast is None, line


_PIECES = st.sampled_from(list("aZé_0179 -.@:#,[]{}\"'\\&*!|>%`~\t²")
                          + ["yes", "no", "null", "On", "  ", "0x1", "\u00a0", "\u2028", "\u0301", "\r"])
_TEXT = st.lists(_PIECES, min_size=1, max_size=12).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=4))
def test_whatever_it_takes_yaml_reads_the_same(bodies):
    """Random lines: the shortcut either declines or gives exactly YAML's collaborators."""
    fast, full = _both([f"  - {{id: x{i}, name: {body}}}\n" for i, body in enumerate(bodies)])
    if fast is not None:
        assert fast == full


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_TEXT, max_size=3), min_size=1, max_size=3))
def test_lists_read_the_same_too(values):
    fast, full = _both([f"  - {{id: x{i}, coupons: [{', '.join(v)}]}}\n" for i, v in enumerate(values)])
    if fast is not None:
        assert fast == full
