"""The web server's access log: referred visits and bound post views (source "access_log").

`AccessLogSource` streams an nginx/Apache combined log:

- a request whose query has `<ref_param>=<tracking id>` is a `referredSiteVisit` for the owner of that
  tracking id (`ctx.attribution.by_tracking_id`); the query is read as the site's PHP reads it
  (`php.query_vars`, `$_GET`: of `?ref=a&ref=b` the last, `b`, as an order's landing page is read);
- a request for the URL path of a bound post (`post_paths`, URL path -> post id, e.g.
  `/2026/11/my-post/` or `/?p=12`) is a `boundPostUsed` for the post's owner (`by_post`, else the
  post's author through `post_authors` and `by_wp_user`);
- only GET/HEAD answered 2xx/3xx count; bots (user agents naming a bot, crawler, spider, curl, wget,
  python-requests, headless browsers...; a Cubot phone is not one) and assets (`.css`, `.js`,
  images, fonts, `/wp-content/`, `/wp-includes/`, `/wp-json/`, `/wp-admin/`, `xmlrpc.php`) never
  count;
- a line without a user agent field (the common log format) counts nothing, as an empty agent: one
  warning a sync names the log and how many lines that could have counted had none (not the lines:
  they hold addresses);
- the same visitor (client address + user agent) is counted once per collaborator and type per
  `visitor_window`: the window opens at the counted visit, repeats inside it are dropped, the first
  one after it counts again;
- a dropped `?ref=` repeat after the visitor came through another collaborator's link (david, erin,
  david again within david's window) is recorded as a `referredSiteRevisit`: no pool scores it, but
  programs remember it, so the last touch is the link clicked last. A repeat with no other link
  between (a reload) is not: it changes no one's last touch;
- a `referredSiteVisit` carries its visitor (`Touch.visitor`, the context's keyed digest of the
  address and agent), so a program can match it to the order the same visitor placed; the agent is
  unescaped (`unescape`: nginx's `\\xHH`, Apache's `\\"`, `\\\\`, `\\t`) and the digest takes it as
  WooCommerce stores it (`php.sanitize_text_field`); the raw values are never kept;
- key `access_log:<type>:<file id>:<byte offset of the line>`, time = the log line's time (its
  offset). The file id is `<inode>-<hash of the file's first line>`: the inode alone is not enough,
  because copytruncate keeps the inode while offsets start over, and file systems reuse the inode of
  a deleted old log for a new one; either would give a new line the key of an old one.

The cursor is `{inode, file, offset, window, last}`: the file's inode and id, the byte offset after the
last line read, the open visitor windows (`{<visitor digest, 16 hex>:<owner>:<r|p>: epoch seconds}`)
and whose link each visitor's newest recorded `?ref=` visit was (`{<visitor digest, 16 hex>: [<owner>,
epoch seconds]}`), both pruned to `visitor_window` (once the visitor's newest visit is older than that,
each of their windows is closed and a new visit counts anyway). A revisit's key is
`access_log:referredSiteRevisit:<file id>:<offset>`: never a counted visit's, so the pools' events are
the same whether or not a line was recorded as a revisit.
A file whose inode changed (logrotate's rename) was rotated: the rest of the old file is read from
`<path>.1` when that file still has the old inode, then the new file from 0. A file with the same
inode that shrank or whose first line changed was truncated in place (copytruncate): read from 0.
An incomplete last line (the server is writing it) is left for the next sync.

Speed: lines are read as bytes and most are rejected by a cheap test (no `<ref_param>=` in the line
and a request path that is not a bound post) before any regex or decoding; only those candidates are
parsed. A candidate that does not parse is quarantined (`where` = `<path>:<offset>`); unparseable lines
that mention nothing tracked are skipped without a word (they could not have counted anyway). A
quarantined line is not kept: it holds a client address and user agent. Its payload is its length in
bytes (and, for a bad time, the time text), and `where` says where the log has it.

Quarantine is capped: at most `MAX_QUARANTINE_PER_SYNC` bad lines are kept aside per sync (a log
that is not in the combined format would otherwise fill the store with copies of itself); past the
cap one warning says so and the rest are skipped. The sync report's `quarantined` counts the lines
actually kept aside (at most the cap), like every source's: it is the context's count.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import BinaryIO
from urllib.parse import quote, unquote

from siren_sync.model import REVISIT, Event, Touch
from siren_sync.sources.base import Attribution, SyncContext, SyncReport
from siren_sync.sources.php import query_vars

log = logging.getLogger(__name__)

REFERRED = "referredSiteVisit"
BOUND_POST = "boundPostUsed"

_LINE = re.compile(  # combined (or common) log format; quoted fields allow \" escapes (unrolled loops)
    rb'(?P<ip>[^ ]+) [^ ]+ [^ ]+ \[(?P<time>[^\]]+)\] '
    rb'"(?P<method>[A-Z]+) (?P<target>[^ "]+)(?: [^"]*)?" (?P<status>\d{3}) (?:\d+|-)'
    rb'(?: "(?P<referer>[^"\\]*(?:\\.[^"\\]*)*)" "(?P<ua>[^"\\]*(?:\\.[^"\\]*)*)")?'
)
_BOTS = re.compile(  # searched in the lower-cased user agent (re.IGNORECASE is ~20x slower here)
    # "bot" ends a crawler's name (Googlebot, bingbot, AhrefsBot, AdsBot-Google), but not a phone
    # brand's: Cubot ("CUBOT X30", "CUBOT_X20_PRO") is an Android phone, its visitors are people.
    r"(?<!cu)bot|crawl|spider|slurp|curl|wget|python-requests|python-urllib|aiohttp|httpx|go-http-client|"
    r"headless|phantomjs|lighthouse|pingdom|uptime|monitor|scrapy|java/|libwww|okhttp|"
    r"facebookexternalhit|preview|feedfetcher"
)
_ASSET_EXT = (".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".woff", ".woff2", ".map",
              ".webp", ".avif", ".ttf", ".eot", ".mp4", ".webm", ".txt", ".xml")
_ASSET_DIRS = ("/wp-content/", "/wp-includes/", "/wp-json/", "/wp-admin/", "/xmlrpc", "/wp-login",
               "/wp-cron", "/feed/")
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
MAX_QUARANTINE_PER_SYNC = 100  # bad lines kept aside per sync (see the module docstring)
CHUNK = 1 << 20  # bytes read at a time
MAX_FIND_TOKENS = 64  # more bound paths than this: look every request path up instead
MAX_OPEN_WINDOWS = 50_000  # open visitor windows kept before pruning them mid-read
WINDOW_DIGEST = 16  # hex characters of the visitor digest in a window's key (keyed: short is enough)
_ESCAPE = re.compile(rb'\\(x[0-9a-fA-F]{2}|.)')  # nginx `\xHH`, Apache `\"`, `\\` and `\t` in a logged field
# Apache's `ap_escape_logitem` writes these control characters C-style (nginx as `\xHH`).
_C_ESCAPES = {b"b": b"\b", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
_ZONES: dict[str, timezone] = {}  # log time offset ("-0700") -> its timezone, built once each
_BOTS_SEEN: dict[str, bool] = {}  # user agent -> is a bot (kept under 20,000 entries)


def parse_log_time(text: str) -> datetime:
    """`10/Oct/2026:13:55:36 -0700` -> an aware datetime with that offset (faster than strptime)."""
    day, mon, rest = text[0:2], text[3:6], text[7:]
    year, hh, mm, ss = int(rest[0:4]), int(rest[5:7]), int(rest[8:10]), int(rest[11:13])
    off = rest[14:19]
    tz = _ZONES.get(off)
    if tz is None:
        if len(off) != 5 or off[0] not in "+-":
            raise ValueError(f"bad log time {text!r}")
        minutes = int(off[1:3]) * 60 + int(off[3:5])
        tz = timezone(timedelta(minutes=-minutes if off[0] == "-" else minutes))
        _ZONES[off] = tz
    return datetime(year, _MONTHS[mon], int(day), hh, mm, ss, tzinfo=tz)


def file_id(path: str, inode: int, final: bool = False) -> str | None:
    """`<inode>-<8 hex of the first line's hash>`, or None while the first line is incomplete."""
    with open(path, "rb") as fh:
        first = fh.readline(65536)
    if not first or (not first.endswith(b"\n") and not final and len(first) < 65536):
        return None
    return f"{inode}-{hashlib.blake2b(first, digest_size=4).hexdigest()}"


def unescape(field: bytes) -> str:
    """A logged field as the client sent it: nginx's `\\xHH` (it writes `"`, `\\`, control bytes and
    every byte above 0x7e so) and Apache's `\\"`, `\\\\`, C-style (`\\t`) and `\\xhh` escapes undone.
    Decoded as UTF-8; bytes that are not UTF-8 are kept as lone surrogates ("surrogateescape"), so
    `sanitize_text_field` finds the agent invalid as WordPress does, instead of a text with U+FFFD."""
    if b"\\" in field:
        field = _ESCAPE.sub(_unescaped, field)
    return field.decode("utf-8", "surrogateescape")


def _unescaped(m: re.Match[bytes]) -> bytes:
    escaped = m.group(1)
    return bytes([int(escaped[1:], 16)]) if len(escaped) == 3 else _C_ESCAPES.get(escaped, escaped)


def _norm_path(path: str) -> str:
    path = unquote(path) if "%" in path else path
    return path.rstrip("/") or "/"


def is_asset(path: str) -> bool:
    """A request for a file a page pulls in (style, script, image, font) or an API/admin route."""
    low = path.lower()
    if low.endswith(_ASSET_EXT):
        return True
    return any(d in low for d in _ASSET_DIRS)


def is_bot(user_agent: str) -> bool:
    """A crawler, monitor, script or headless browser (or no user agent at all)."""
    known = _BOTS_SEEN.get(user_agent)
    if known is None:
        known = user_agent in ("", "-") or bool(_BOTS.search(user_agent.lower()))
        if len(_BOTS_SEEN) > 20_000:
            _BOTS_SEEN.clear()
        _BOTS_SEEN[user_agent] = known
    return known


def _bodies(fh: BinaryIO, final: bool) -> Iterator[tuple[bytes, int]]:
    """Whole lines from where `fh` stands, about `CHUNK` bytes at a time: `(body, bytes of the file
    it covers)`. An incomplete last line is left for the next sync, unless `final` (a rotated file's
    last line will never be finished: it comes with a newline added, not counted in the file)."""
    carry = b""
    while True:
        data = fh.read(CHUNK)
        if data:
            chunk = carry + data if carry else data
            cut = chunk.rfind(b"\n") + 1
            body, carry = chunk[:cut], chunk[cut:]
            if body:  # else one very long line: keep reading
                yield body, len(body)
        elif final and carry:
            yield carry + b"\n", len(carry)
            return
        else:
            return


@dataclass
class _Run:
    """One sync of the log: where its events and counts go, the visitor windows, the bad lines seen."""

    ctx: SyncContext
    report: SyncReport
    window: dict[str, int]  # visitor window key -> epoch seconds of the counted visit
    last: dict[str, list]  # visitor (16 hex) -> [owner, epoch seconds] of their newest recorded `?ref=` visit
    events: list[Event] = field(default_factory=list)  # found since the last commit
    latest: int = 0  # the newest line time seen in the file being read (epoch seconds)
    bad_lines: int = 0  # candidates that did not parse, quarantined or not (the cap)


class _BoundPaths:
    """The bound posts' URL paths, indexed for the two questions a line asks: may it be one of them
    (byte tokens searched chunk-wide, or a set of request paths), and which post is it."""

    def __init__(self, post_paths: Mapping[str, int], ref_token: bytes):
        self.plain: dict[bytes, int] = {}  # normalized path -> post id
        self.query: dict[str, list[tuple[dict[str, str], int]]] = {}  # `/?p=12` style: path -> (params, id)
        for raw, post_id in post_paths.items():
            path_part, _, query = raw.partition("?")
            if query:
                self.query.setdefault(_norm_path(path_part or "/"), []).append(
                    (query_vars(query), int(post_id)))
            else:
                self.plain[_norm_path(path_part).encode()] = int(post_id)
        # The per-line prefilter looks request paths up as they are: with and without the trailing slash.
        self.prefilter = set(self.plain) | {p + b"/" for p in self.plain}
        self.prefilter |= {p.encode() for p in self.query} | {p.encode() + b"/" for p in self.query}
        tokens = self._tokens(ref_token)
        self.per_line = len(tokens) > MAX_FIND_TOKENS + 1 or any(len(t) < 3 for t in tokens)
        self.tokens = [ref_token] if self.per_line else sorted(tokens)

    def _tokens(self, ref_token: bytes) -> set[bytes]:
        """Byte strings whose presence makes a line a candidate, searched chunk-wide at C speed: the ref
        token, each bound path after the space that follows the method (as logged, percent-encoded,
        and decoded), and one `name=value` of each query-style path (`p=12` for `/?p=12`)."""
        tokens = {ref_token}
        for p in self.plain:
            text = p.decode()
            for form in {text, quote(text, safe=_PATH_SAFE)}:
                tokens.add(b" " + form.encode())
        for wanted_list in self.query.values():
            for params, _ in wanted_list:
                if params:
                    k, v = next(iter(params.items()))
                    tokens.add(f"{k}={v}".encode())
        return tokens

    def count(self) -> int:
        """How many bound post paths there are (for `check`)."""
        return len(self.plain) + sum(map(len, self.query.values()))

    def post_of(self, raw_path: str, params: Mapping[str, str]) -> int | None:
        """The bound post a request path (and its query) is, if any."""
        path = _norm_path(raw_path)
        post_id = self.plain.get(path.encode())
        if post_id is not None:
            return post_id
        for wanted, pid in self.query.get(path, ()):
            if all(params.get(k) == v for k, v in wanted.items()):
                return pid
        return None


class AccessLogSource:
    """Referred visits and bound post views from a combined-format access log."""

    def __init__(self, path: str | os.PathLike[str], *, ref_param: str = "ref",
                 post_paths: Mapping[str, int] | None = None,
                 post_authors: Mapping[int, int] | None = None,
                 visitor_window: float = 1800.0, batch_events: int = 10_000,
                 name: str = "access_log"):
        self.name = name
        self.path = os.fspath(path)
        self.ref_param = ref_param
        self.visitor_window = float(visitor_window)
        self.batch_events = max(1, int(batch_events))
        self.post_authors = dict(post_authors or {})
        self._bound = _BoundPaths(post_paths or {}, f"{ref_param}=".encode())

    # -- public -------------------------------------------------------------------------------
    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        """Read the lines written since the cursor (the whole current file for a backfill)."""
        report = SyncReport(self.name)
        report.detail.update(lines=0, candidates=0, ignored=0, duplicates=0, revisits=0, unattributed=0,
                             no_user_agent=0)
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            report.detail["missing"] = self.path
            return report
        cursor = dict(ctx.cursor(self.name) or {})
        run = _Run(ctx, report, dict(cursor.get("window") or {}), dict(cursor.get("last") or {}))
        inode, fid, offset = cursor.get("inode"), cursor.get("file"), int(cursor.get("offset") or 0)
        if since is not None:  # a backfill re-reads the current file; known keys change nothing
            inode, fid, offset, run.window, run.last = None, None, 0, {}, {}
        if inode is not None and inode != st.st_ino:
            self._finish_rotated(run, inode, offset)
            offset = 0
        elif inode is not None and self._truncated(st, fid, offset):
            report.detail["truncated"] = True  # copytruncate: the same inode starts over
            offset = 0
        self._read(run, self.path, st.st_ino, offset, final=False)
        self._warn_no_user_agent(report)
        return report

    def _warn_no_user_agent(self, report: SyncReport) -> None:
        """Once a sync: how many lines that could have counted had no user agent field (a log in
        the common format, not the combined one), so they counted nothing. Never a line itself:
        it holds a visitor's address."""
        skipped = report.detail["no_user_agent"]
        if skipped:
            log.warning("%s: %s: %d lines that could have counted have no user agent field (the common log "
                        "format?) and count nothing: log in the combined format", self.name, self.path, skipped,
                        extra={"fields": {"event": "access_log_no_user_agent", "file": self.path,
                                          "lines": skipped}})

    def check(self) -> list[tuple[str, bool, str]]:
        """The log file can be read: its size, the bound post paths and the ref parameter."""
        try:
            st = os.stat(self.path)
            with open(self.path, "rb") as fh:
                fh.read(1)
        except OSError as exc:
            return [(f"{self.name}: {self.path}", False, f"cannot read: {exc.strerror}")]
        return [(f"{self.name}: {self.path}", True,
                 f"{st.st_size} bytes, {self._bound.count()} bound post paths, ref param {self.ref_param!r}")]

    # -- which file, from where ---------------------------------------------------------------
    def _finish_rotated(self, run: _Run, inode: int, offset: int) -> None:
        """The log was rotated: read the rest of the old file, `<path>.1` if it still has its inode."""
        rotated = self.path + ".1"
        try:
            rst: os.stat_result | None = os.stat(rotated)
        except FileNotFoundError:
            rst = None
        if rst is not None and rst.st_ino == inode and rst.st_size >= offset:
            self._read(run, rotated, inode, offset, final=True)
            run.report.detail["rotated"] = rotated
        else:
            run.report.detail["rotated_lost"] = f"{rotated} not found with inode {inode}"
            log.warning("%s: rotated file %s is gone; lines after offset %s of the old log are lost",
                        self.name, rotated, offset)

    def _truncated(self, st: os.stat_result, fid: str | None, offset: int) -> bool:
        """The same inode shrank, or its first line changed: truncated in place and written again."""
        return st.st_size < offset or bool(fid and file_id(self.path, st.st_ino) != fid)

    # -- reading ------------------------------------------------------------------------------
    def _candidate_starts(self, body: bytes) -> Iterable[int]:
        """Start offsets (in `body`, whole lines) of the lines that may count: found with C-speed
        `bytes.find` for the ref token and each bound path; per line only with many bound paths."""
        starts: set[int] = set()
        for token in self._bound.tokens:
            pos = body.find(token)
            while pos >= 0:
                starts.add(body.rfind(b"\n", 0, pos) + 1)
                eol = body.find(b"\n", pos)
                pos = body.find(token, eol) if eol >= 0 else -1
        if self._bound.per_line:
            starts.update(self._path_starts(body))
        return sorted(starts)

    def _path_starts(self, body: bytes) -> Iterator[int]:
        """Start offsets of the lines whose request path is a bound post's (many bound paths)."""
        wanted = self._bound.prefilter
        at = 0
        for line in body.split(b"\n"):
            try:  # the request path, as cheaply as Python allows
                p = line.split(b'"', 2)[1].split(b" ", 2)[1].partition(b"?")[0]
            except IndexError:
                p = b""
            if p in wanted or (b"%" in p and _norm_path(p.decode("utf-8", "replace")).encode() in wanted):
                yield at
            at += len(line) + 1

    def _read(self, run: _Run, path: str, inode: int, offset: int, final: bool) -> None:
        """Read `path` from `offset` to its last whole line, committing every `batch_events` events."""
        fid = file_id(path, inode, final)
        if fid is None:  # not even one complete line yet
            run.ctx.commit(self.name, [], self._cursor(run, inode, None, 0))
            return
        run.events, run.latest = [], 0
        base = offset  # file offset of the first byte of each body
        with open(path, "rb") as fh:
            fh.seek(offset)
            for body, real in _bodies(fh, final):
                lines = body.count(b"\n")
                run.report.detail["lines"] += lines
                run.report.records += lines
                self._scan(run, path, inode, fid, base, body, real)
                base += real
        self._commit(run, inode, fid, base)

    def _scan(self, run: _Run, path: str, inode: int, fid: str, base: int, body: bytes, real: int) -> None:
        """The candidate lines of one body (at file offset `base`, `real` bytes of the file)."""
        for start in self._candidate_starts(body):
            stop = body.find(b"\n", start) + 1
            run.report.detail["candidates"] += 1
            stamp = self._line_events(run, path, fid, base + start, body[start:stop])
            if stamp > run.latest:
                run.latest = stamp
                if len(run.window) > MAX_OPEN_WINDOWS:
                    self._prune(run, stamp)
            if len(run.events) >= self.batch_events:  # every line before this one is done
                self._commit(run, inode, fid, base + min(stop, real))

    def _commit(self, run: _Run, inode: int, fid: str, offset: int) -> None:
        if run.latest:
            self._prune(run, run.latest)
        run.report.events += run.ctx.commit(self.name, run.events, self._cursor(run, inode, fid, offset))
        run.events = []
        run.report.pages += 1
        run.ctx.progress(self.name, run.report.pages, None, run.report.records)

    @staticmethod
    def _cursor(run: _Run, inode: int, fid: str | None, offset: int) -> dict[str, object]:
        """The cursor to commit (see the module docstring); `last` only once a visit put one there."""
        cursor: dict[str, object] = {"inode": inode, "file": fid, "offset": offset, "window": dict(run.window)}
        if run.last:
            cursor["last"] = {v: list(seen) for v, seen in run.last.items()}
        return cursor

    def _prune(self, run: _Run, latest: int) -> None:
        """Forget the windows, and the visitors' newest visits, older than `visitor_window`."""
        horizon = latest - self.visitor_window
        for key in [k for k, t in run.window.items() if t <= horizon]:
            del run.window[key]
        for key in [k for k, (_, t) in run.last.items() if t <= horizon]:
            del run.last[key]

    # -- one line -----------------------------------------------------------------------------
    def _line_events(self, run: _Run, path: str, fid: str, start: int, line: bytes) -> int:
        """The events of one candidate line (into `run.events`); returns its time (epoch seconds),
        0 when it does not parse (then it is quarantined)."""
        m = _LINE.match(line)
        if m is None:
            self._quarantine(run, f"{path}:{start}", "not a combined log line", {"bytes": len(line)})
            return 0
        try:
            at = parse_log_time(m.group("time").decode("ascii"))
        except (ValueError, KeyError, UnicodeDecodeError):
            self._quarantine(run, f"{path}:{start}", "bad time in log line",
                             {"bytes": len(line), "time": m.group("time")[:100].decode("utf-8", "replace")})
            return 0
        stamp = int(at.timestamp())
        target = self._counted_target(m, run.report)
        if target is not None:
            found = self._owners(run.ctx.attribution, target)
            if found:
                self._count_visits(run, m, found, f"{fid}:{start}", at, stamp)
        return stamp

    def _counted_target(self, m: re.Match[bytes], report: SyncReport) -> str | None:
        """The request target of a line that may count: a GET/HEAD answered 2xx/3xx, not an asset,
        not a bot; None (and counted as ignored) otherwise."""
        status = int(m.group("status"))
        if m.group("method") not in (b"GET", b"HEAD") or not 200 <= status < 400:
            report.detail["ignored"] += 1
            return None
        target = m.group("target").decode("utf-8", "replace")
        ua_raw = m.group("ua")
        if is_asset(target.partition("?")[0]) or is_bot(ua_raw.decode("utf-8", "replace") if ua_raw else ""):
            report.detail["ignored"] += 1
            if ua_raw is None and not is_asset(target.partition("?")[0]):  # the common log format: said once a sync
                report.detail["no_user_agent"] += 1
            return None
        return target

    def _owners(self, attribution: Attribution, target: str) -> list[tuple[str, str | None]]:
        """(event type, owner or None) for each thing the request is: a referred visit, a bound post."""
        raw_path, _, query = target.partition("?")
        params = query_vars(query) if query else {}
        found: list[tuple[str, str | None]] = []
        tracking = params.get(self.ref_param)
        if tracking:
            found.append((REFERRED, attribution.by_tracking_id.get(tracking)))
        post_id = self._bound.post_of(raw_path, params)
        if post_id is not None:
            owner = attribution.by_post.get(post_id)
            if owner is None and post_id in self.post_authors:
                owner = attribution.by_wp_user.get(self.post_authors[post_id])
            found.append((BOUND_POST, owner))
        return found

    def _count_visits(self, run: _Run, m: re.Match[bytes], found: list[tuple[str, str | None]], where: str,
                      at: datetime, stamp: int) -> None:
        """One event per attributed kind, unless this visitor's window for it is still open (then a
        `?ref=` visit may still be a revisit)."""
        detail = run.report.detail
        visitor = None
        for kind, owner in found:
            if owner is None:
                detail["unattributed"] += 1
                continue
            if visitor is None:
                visitor = run.ctx.visitor(m.group("ip").decode("utf-8", "replace"), unescape(m.group("ua") or b""))
            short = visitor[:WINDOW_DIGEST]
            wkey = f"{short}:{owner}:{'r' if kind == REFERRED else 'p'}"
            opened = run.window.get(wkey)
            if opened is None or stamp - opened >= self.visitor_window:
                run.window[wkey] = stamp
            elif kind != REFERRED or run.last.get(short, (owner,))[0] == owner:
                detail["duplicates"] += 1
                continue
            else:  # another collaborator's link came since this one's last recorded visit
                detail["duplicates"] += 1
                detail["revisits"] += 1
                kind = REVISIT
            if kind != BOUND_POST:
                run.last[short] = [owner, stamp]
            run.events.append(Event(key=f"access_log:{kind}:{where}", type=kind, at=at, collaborator=owner,
                                    source=self.name, touch=Touch(visitor=visitor) if kind != BOUND_POST else None))

    def _quarantine(self, run: _Run, where: str, reason: str, payload: dict[str, int | str]) -> None:
        """Keep a bad line's place aside (not the line: it names a visitor), up to
        `MAX_QUARANTINE_PER_SYNC` a sync (the context counts them)."""
        run.bad_lines += 1
        if run.bad_lines <= MAX_QUARANTINE_PER_SYNC:
            run.ctx.quarantine(where, reason, payload)
        elif run.bad_lines == MAX_QUARANTINE_PER_SYNC + 1:
            log.warning("%s: more than %d unparseable lines in this sync; not quarantining the rest",
                        self.name, MAX_QUARANTINE_PER_SYNC)
