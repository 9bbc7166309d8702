"""What PHP and WordPress make of what a visitor's browser sent, where siren-sync must agree byte for byte.

A referred visit is matched to the order the same visitor placed (DESIGN section 8): the access log
holds what the browser sent, the order what WordPress kept of it. Both sides are read here, as the
site reads them, so the two agree:

- `query_vars`: PHP's `$_GET` of a query string. A parameter given twice (`?ref=a&ref=b`) is the
  LAST one (PHP overwrites as it reads); a name with brackets (`ref[]=a`) is an array, no text;
  names lose their leading spaces and have `.` and ` ` turned into `_` as PHP registers them.
- `sanitize_text_field`: WordPress's `sanitize_text_field` (`_sanitize_text_fields($str, false)`),
  through which WooCommerce stores an order's `customer_user_agent`
  (`wc_get_user_agent()` = `wc_clean(wp_unslash($_SERVER['HTTP_USER_AGENT']))`, at checkout and in
  the Store API): invalid UTF-8 is '' (`wp_check_invalid_utf8`); when a `<` is there, a `<` without
  a `>` is escaped (`wp_pre_kses_less_than` -> `esc_html`), `<script>`/`<style>` elements and then
  every tag removed (`wp_strip_all_tags`: PHP's `strip_tags`); runs of `\\r \\n \\t` and spaces
  become one space (no other space: a no-break space stays); PHP's `trim`; percent-encoded octets
  (`%41`) are removed again and again while any is left, then runs of spaces made one and trimmed.
  It is idempotent (a stored agent sanitized again is itself), so it applies to both sides.

Most agents have none of `<`, `%`, a tab, a line break, two spaces or a space at either end: they
are returned as they are (the fast path); the rest follows the PHP code step by step. Pinned by
vectors made with the real PHP and WordPress (`tools/php_sanitize_vectors.py`).
"""
from __future__ import annotations

import re
from html.entities import name2codepoint
from urllib.parse import unquote_plus

_TRIM = " \t\n\r\0\x0b"  # PHP trim()'s characters
_BREAKS = re.compile(r"[\r\n\t ]+")
_OCTET = re.compile(r"%[a-f0-9]{2}", re.IGNORECASE | re.ASCII)
_SPACES = re.compile(r" +")
_SCRIPT_STYLE = re.compile(r"<(script|style)[^>]*?>.*?</\1>", re.IGNORECASE | re.DOTALL | re.ASCII)
_LESS_THAN = re.compile(r"<[^>]*?((?=<)|>|$)")
_NAMED = re.compile(r"&amp;([A-Za-z]{2,8}[0-9]{0,2});")
_DECIMAL = re.compile(r"&amp;#(0*[0-9]{1,7});")
_HEX = re.compile(r"&amp;#[Xx](0*[0-9A-Fa-f]{1,6});")
# kses's `$allowedentitynames`: HTML 4's entities and `apos` (which `htmlspecialchars` then escapes).
_ENTITY_NAMES = frozenset(name2codepoint) | {"apos"}
_C_SPACE = " \t\n\x0b\x0c\r"  # C's isspace() (strip_tags: a `<` before one of these is text)


def query_vars(query: str) -> dict[str, str]:
    """The text parameters PHP's `$_GET` has for a query string (`a=1&b=2`, without the `?`)."""
    found: dict[str, str] = {}
    for pair in query.split("&"):
        raw_name, _, raw_value = pair.partition("=")
        name = _php_var_name(unquote_plus(raw_name))
        if not name:
            continue
        bracket = name.find("[")
        if bracket > 0 and "]" in name[bracket:]:
            found.pop(name[:bracket], None)  # `ref[]=`: $_GET['ref'] is an array now, not a text
        else:
            found[name] = unquote_plus(raw_value)
    return found


def _php_var_name(name: str) -> str:
    """A parameter name as PHP registers it: leading spaces dropped, `.` and ` ` before the first
    `[` made `_` (`php_register_variable_ex`); a `[` that no `]` closes is a `_` too."""
    name = name.lstrip(" ")
    bracket = name.find("[")
    head, tail = (name, "") if bracket < 0 else (name[:bracket], name[bracket:])
    head = head.replace(".", "_").replace(" ", "_")
    if tail and "]" not in tail:
        tail = "_" + tail[1:]
    return head + tail


def sanitize_text_field(value: str | bytes) -> str:
    """WordPress's `sanitize_text_field` of a text (see the module docstring)."""
    text = _valid_utf8(value)
    if not text or _plain(text):
        return text
    if "<" in text:
        text = _strip_all_tags(_LESS_THAN.sub(_escape_lone_less_than, text)).replace("<\n", "&lt;\n")
    text = _BREAKS.sub(" ", text).strip(_TRIM)
    found = False
    match = _OCTET.search(text) if "%" in text else None
    while match is not None:
        text = text.replace(match.group(0), "")
        found = True
        match = _OCTET.search(text)
    return _SPACES.sub(" ", text).strip(_TRIM) if found else text


def _valid_utf8(value: str | bytes) -> str:
    """`wp_check_invalid_utf8`: the text, or '' when it is not valid UTF-8 (a lone surrogate in a
    Python string is not either)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return ""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return ""
    return value


def _plain(text: str) -> bool:
    """Nothing for the sanitizer to change: the common agent (a handful of C-speed scans)."""
    return ("<" not in text and "%" not in text and "  " not in text and "\t" not in text
            and "\n" not in text and "\r" not in text and text[0] not in _TRIM and text[-1] not in _TRIM)


def _escape_lone_less_than(match: re.Match[str]) -> str:
    """`wp_pre_kses_less_than_callback`: a `<...` that no `>` closes goes through `esc_html`."""
    fragment = match.group(0)
    return fragment if ">" in fragment else _esc_html(fragment)


def _esc_html(text: str) -> str:
    """`esc_html` (`_wp_specialchars` with ENT_QUOTES): entities normalised as kses does, then
    `htmlspecialchars` without double encoding (of kses's names only HTML 4's are kept)."""
    text = text.replace("&", "&amp;")
    text = _NAMED.sub(lambda m: f"&{m[1]};" if m[1] in _ENTITY_NAMES else m[0], text)
    text = _DECIMAL.sub(_decimal_entity, text)
    text = _HEX.sub(_hex_entity, text)
    return (text.replace("&apos;", "&amp;apos;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#039;"))


def _valid_unicode(code: int) -> bool:
    """kses's `valid_unicode`."""
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD \
        or 0x10000 <= code <= 0x10FFFF


def _decimal_entity(match: re.Match[str]) -> str:
    """`wp_kses_normalize_entities2` (PHP's `empty("0")` is true: `&#0;` vanishes)."""
    digits = match[1]
    if digits == "0":
        return ""
    return f"&#{digits.lstrip('0').rjust(3, '0')};" if _valid_unicode(int(digits)) else f"&amp;#{digits};"


def _hex_entity(match: re.Match[str]) -> str:
    """`wp_kses_normalize_entities3`."""
    digits = match[1]
    if digits == "0":
        return ""
    return f"&#x{digits.lstrip('0')};" if _valid_unicode(int(digits, 16)) else f"&amp;#x{digits};"


def _strip_all_tags(text: str) -> str:
    """`wp_strip_all_tags($text, false)`: script and style elements, then PHP's `strip_tags`, trimmed."""
    return _StripTags(_SCRIPT_STYLE.sub("", text)).run().strip(_TRIM)


class _StripTags:
    """PHP's `strip_tags` (`php_strip_tags_ex`, no allowed tags): a state machine over the text.
    States: 0 text, 1 inside a tag, 2 a `<?` processing instruction, 3 a `<!` declaration,
    4 a `<!--` comment. Characters compare as PHP's bytes do (only ASCII ones matter)."""

    def __init__(self, text: str):
        self.text = text
        self.out: list[str] = []
        self.state = self.depth = self.br = 0
        self.lc, self.in_q, self.is_xml = "", "", False

    def run(self) -> str:
        steps = (self._text, self._tag, self._php, self._declaration, self._comment)
        for p, c in enumerate(self.text):
            steps[self.state](p, c)
        return "".join(self.out)

    def _prev(self, p: int, back: int = 1) -> str:
        return self.text[p - back] if p >= back else ""

    def _next_is_space(self, p: int) -> bool:
        return p + 1 < len(self.text) and self.text[p + 1] in _C_SPACE

    def _close(self) -> bool:
        """A `>` in a tag: True when it ends the tag (no nested `<` open, not inside quotes)."""
        if self.depth:
            self.depth -= 1
            return False
        return not self.in_q

    def _quote(self, p: int, c: str) -> None:
        if p and (not self.in_q or c == self.in_q):
            self.in_q = "" if self.in_q else c

    def _to_text(self) -> None:
        self.state, self.in_q = 0, ""

    def _text(self, p: int, c: str) -> None:
        if c == "<":
            if self.in_q:
                return
            if self._next_is_space(p):
                self.out.append(c)
            else:
                self.lc, self.state = "<", 1
        elif c == ">":
            if self.depth:
                self.depth -= 1
            elif not self.in_q:
                self.out.append(c)
        elif c != "\0":
            self.out.append(c)

    def _tag(self, p: int, c: str) -> None:
        if c == "<":
            if not self.in_q and not self._next_is_space(p):
                self.depth += 1
        elif c == ">":
            if self._close():
                self.lc = ">"
                if not (self.is_xml and self._prev(p) == "-"):
                    self._to_text()
                    self.is_xml = False
        elif c in "\"'":
            self._quote(p, c)
        elif c == "!" and self._prev(p) == "<":
            self.state, self.lc = 3, c
        elif c == "?" and self._prev(p) == "<":
            self.state, self.br = 2, 0

    def _php(self, p: int, c: str) -> None:
        if c in "()":
            if self.lc not in ("\"", "'"):
                self.lc = c
                self.br += 1 if c == "(" else -1
        elif c == ">":
            if self._close() and not self.br and self.lc != "\"" and self._prev(p) == "?":
                self._to_text()
        elif c in "\"'":
            if p and self._prev(p) != "\\":
                self.lc = "" if self.lc == c else (c if self.lc != "\\" else self.lc)
                self._quote(p, c)
        elif c in "lL" and p > 4 and self.text[p - 4:p].lower() == "<?xm":
            self.state, self.is_xml = 1, True

    def _declaration(self, p: int, c: str) -> None:
        if c == ">":
            if self._close():
                self._to_text()
        elif c in "\"'":
            if p and self._prev(p) != "\\":
                self._quote(p, c)
        elif c == "-" and p >= 2 and self.text[p - 2:p] == "!-":
            self.state = 4
        elif c in "eE" and p > 6 and self.text[p - 6:p].lower() == "doctyp":
            self.state = 1

    def _comment(self, p: int, c: str) -> None:
        if c == ">" and not self.in_q and p >= 2 and self.text[p - 2:p] == "--":
            self._to_text()
