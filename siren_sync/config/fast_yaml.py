"""A long `collaborators:` list, read without building a YAML node per value.

A site with 50,000 collaborators has a config whose YAML parse alone (PyYAML, even over libyaml)
costs seconds: every scalar becomes a node, is resolved and constructed in Python. The list is
almost always written one collaborator a line, as the example config writes it:
`  - {id: alice, name: Alice, coupons: [ALICE10], products: [93]}`. Those lines are read here
with a regular expression each; the rest of the file is parsed by YAML as usual.

It is a shortcut, never a second dialect: it takes only what reads the same in YAML (words that
YAML 1.1 keeps as strings, decimal integers, double-quoted strings without escapes, flat lists of
those; no comment, blank line or `${` in the list), and anything else sends the whole file back
to the YAML parser, so the result, and every error with its line, is YAML's.
"""
from __future__ import annotations

import re
from typing import Any

# YAML 1.1 words that resolve to something other than a string (PyYAML's bool and null resolvers).
_NOT_STRINGS = frozenset("yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF "
                         "null Null NULL".split())
# A word starts with a letter (never a number, a time, a tag, an anchor, an alias or a quote) and
# holds none of what ends or changes a value in a flow; it ends with no space (YAML trims them).
_WORD = r"[^\W\d](?:[^,\[\]{}:#\n]*[^,\[\]{}:#\s])?"
_INT = r"[1-9][0-9]*|0"
_QUOTED = r'"[^"\\\n]*"'
_SCALAR = rf"(?:{_WORD}|{_INT}|{_QUOTED})"
_LIST = rf"\[[ ]*(?:{_SCALAR}[ ]*(?:,[ ]*{_SCALAR}[ ]*)*)?\]"
# One pair of a one-line flow mapping: (key, value); "," ends it, or "}" when it is the last.
_PAIRS = re.compile(rf"[ ]*([A-Za-z_][A-Za-z0-9_]*)[ ]*:[ ]+({_LIST}|{_SCALAR})[ ]*(?:,|\}}$)")
_ITEMS = re.compile(rf"[ ]*({_SCALAR})[ ]*(?:,|$)")
_TOP = re.compile(r"^collaborators:[ ]*$", re.M)
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_FIRSTS = frozenset('["0123456789')  # the first characters of a value that is not a word


def split_collaborators(text: str) -> tuple[str, list[dict[str, Any]]] | None:
    """(the text with the collaborator lines blanked, those collaborators) when a top-level
    `collaborators:` list is all one-line `- {...}` mappings read the same as YAML reads them;
    None otherwise (the caller parses the whole text as YAML)."""
    top = _TOP.search(text)
    if top is None or _TOP.search(text, top.end()) or "${" in text[top.end():]:  # `${`: `interpolate`'s turn
        return None
    if _UNSAFE.search(text, top.end()):  # tabs, control characters, YAML's other line breaks
        return None
    cut = top.end() + 1
    lines = text[cut:].split("\n")
    items: list[dict[str, Any]] = []
    prefix = ""
    for n, line in enumerate(lines):
        if not line.startswith(prefix or " ") and not line.startswith(prefix or "\t"):
            if line and not line[0].isspace() and line[0] != "#":
                break  # the next top-level key
            if n == len(lines) - 1 and not line:
                break  # the end of the file
            return None  # a blank line, a comment, another indent: YAML's turn
        if not prefix:
            prefix = line[:line.find("- {") + 3] if line.lstrip().startswith("- {") else ""
            if not prefix or prefix.strip() != "- {":
                return None
        item = _mapping(line[len(prefix):].rstrip(" ")) if line.startswith(prefix) else None
        if item is None:
            return None
        items.append(item)
        lines[n] = ""
    return (text[:cut] + "\n".join(lines), items) if items else None


def _mapping(inner: str) -> dict[str, Any] | None:
    """The pairs of a one-line flow mapping's inside (up to its closing "}"), or None when it is
    not exactly such a mapping of pairs YAML reads as this does."""
    pairs = _PAIRS.findall(inner)
    canonical = ", ".join([f"{key}: {raw}" for key, raw in pairs]) + "}"  # how generated lists write it
    if canonical != inner and _PAIRS.sub("", inner):  # the pairs do not cover the line
        return None
    result = dict(pairs)
    if len(result) != len(pairs) or not result or not _NOT_STRINGS.isdisjoint(result):  # a key twice, or `on:`
        return None
    for key, raw in pairs:
        if raw[0] in _FIRSTS or raw in _NOT_STRINGS:
            value = _list(raw) if raw[0] == "[" else _scalar(raw)
            if value is None:
                return None
            result[key] = value
    return result


def _scalar(text: str) -> Any:
    if text[0] == '"':
        return text[1:-1]
    return int(text) if text[0].isdigit() else None  # None: a YAML 1.1 word (yes, off, null...)


def _list(text: str) -> list[Any] | None:
    if text == "[]":
        return []
    one = text[1:-1].strip()
    if one and "," not in one:  # the usual list: one word or one id (`[ALICE10]`, `[93]`)
        if one[0] not in _FIRSTS and one not in _NOT_STRINGS:
            return [one]
        if one.isdigit():
            return [int(one)]
    values = []
    for raw in _ITEMS.findall(text, 1, len(text) - 1):
        value = raw if raw[0] not in _FIRSTS and raw not in _NOT_STRINGS else _scalar(raw)
        if value is None:
            return None
        values.append(value)
    return values
