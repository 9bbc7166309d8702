"""Visits: the web server's access log, and Siren's own engagements.

`AccessLogSource` ("access_log") streams an nginx/Apache combined log:

- a request whose query has `<ref_param>=<tracking id>` is a `referredSiteVisit` for the owner of that
  tracking id (`ctx.attribution.by_tracking_id`);
- a request for the URL path of a bound post (`post_paths`, URL path -> post id, e.g.
  `/2026/11/my-post/` or `/?p=12`) is a `boundPostUsed` for the post's owner (`by_post`, else the
  post's author through `post_authors` and `by_wp_user`);
- only GET/HEAD answered 2xx/3xx count; bots (user agents naming a bot, crawler, spider, curl, wget,
  python-requests, headless browsers...) and assets (`.css`, `.js`, images, fonts, `/wp-content/`,
  `/wp-includes/`, `/wp-json/`, `/wp-admin/`, `xmlrpc.php`) never count;
- the same visitor (ip + user agent) is counted once per collaborator and type per `visitor_window`:
  the window opens at the counted visit, repeats inside it are dropped, the first one after it counts
  again;
- key `access_log:<type>:<file id>:<byte offset of the line>`, time = the log line's time (its
  offset). The file id is `<inode>-<hash of the file's first line>`: the inode alone is not enough,
  because copytruncate keeps the inode while offsets start over, and file systems reuse the inode of
  a deleted old log for a new one; either would give a new line the key of an old one.

The cursor is `{inode, file, offset, window}`: the file's inode and id, the byte offset after the last
line read and the open visitor windows (`{visitor hash: epoch seconds}`, pruned to `visitor_window`).
A file whose inode changed (logrotate's rename) was rotated: the rest of the old file is read from
`<path>.1` when that file still has the old inode, then the new file from 0. A file with the same
inode that shrank or whose first line changed was truncated in place (copytruncate): read from 0.
An incomplete last line (the server is writing it) is left for the next sync.

Speed: lines are read as bytes and most are rejected by a cheap test (no `<ref_param>=` in the line
and a request path that is not a bound post) before any regex or decoding; only those candidates are
parsed. A candidate that does not parse is quarantined (`where` = `<path>:<offset>`); unparseable lines
that mention nothing tracked are skipped without a word (they could not have counted anyway).

`SirenEngagementsSource` ("siren") reads `GET /siren/v1/engagements` of the Siren Affiliates plugin;
see its docstring.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from siren_sync.model import Event
from siren_sync.sources import wordpress as wp
from siren_sync.sources.base import SyncContext, SyncReport

log = logging.getLogger(__name__)

REFERRED = "referredSiteVisit"
BOUND_POST = "boundPostUsed"

_LINE = re.compile(  # combined (or common) log format; quoted fields allow \" escapes (unrolled loops)
    rb'(?P<ip>[^ ]+) [^ ]+ [^ ]+ \[(?P<time>[^\]]+)\] '
    rb'"(?P<method>[A-Z]+) (?P<target>[^ "]+)(?: [^"]*)?" (?P<status>\d{3}) (?:\d+|-)'
    rb'(?: "(?P<referer>[^"\\]*(?:\\.[^"\\]*)*)" "(?P<ua>[^"\\]*(?:\\.[^"\\]*)*)")?'
)
_BOTS = re.compile(  # searched in the lower-cased user agent (re.IGNORECASE is ~20x slower here)
    r"bot|crawl|spider|slurp|curl|wget|python-requests|python-urllib|aiohttp|httpx|go-http-client|"
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
MAX_QUARANTINE_PER_SYNC = 100
CHUNK = 1 << 20  # bytes read at a time
MAX_FIND_TOKENS = 64  # more bound paths than this: look every request path up instead


def parse_log_time(text: str, _zones: dict[str, timezone] = {}) -> datetime:
    """`10/Oct/2026:13:55:36 -0700` -> an aware datetime with that offset (faster than strptime)."""
    day, mon, rest = text[0:2], text[3:6], text[7:]
    year, hh, mm, ss = int(rest[0:4]), int(rest[5:7]), int(rest[8:10]), int(rest[11:13])
    off = rest[14:19]
    tz = _zones.get(off)
    if tz is None:
        if len(off) != 5 or off[0] not in "+-":
            raise ValueError(f"bad log time {text!r}")
        minutes = int(off[1:3]) * 60 + int(off[3:5])
        tz = timezone(timedelta(minutes=-minutes if off[0] == "-" else minutes))
        _zones[off] = tz
    return datetime(year, _MONTHS[mon], int(day), hh, mm, ss, tzinfo=tz)


def file_id(path: str, inode: int, final: bool = False) -> str | None:
    """`<inode>-<8 hex of the first line's hash>`, or None while the first line is incomplete."""
    with open(path, "rb") as fh:
        first = fh.readline(65536)
    if not first or (not first.endswith(b"\n") and not final and len(first) < 65536):
        return None
    return f"{inode}-{hashlib.blake2b(first, digest_size=4).hexdigest()}"


def _norm_path(path: str) -> str:
    path = unquote(path) if "%" in path else path
    return path.rstrip("/") or "/"


def is_asset(path: str) -> bool:
    low = path.lower()
    if low.endswith(_ASSET_EXT):
        return True
    return any(d in low for d in _ASSET_DIRS)


def is_bot(user_agent: str, _cache: dict[str, bool] = {}) -> bool:
    """A crawler, monitor, script or headless browser (or no user agent at all)."""
    known = _cache.get(user_agent)
    if known is None:
        known = user_agent in ("", "-") or bool(_BOTS.search(user_agent.lower()))
        if len(_cache) > 20_000:
            _cache.clear()
        _cache[user_agent] = known
    return known


class AccessLogSource:
    """Referred visits and bound post views from a combined-format access log."""

    def __init__(self, path: str | os.PathLike, *, ref_param: str = "ref",
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
        self._ref_token = f"{ref_param}=".encode()
        # Bound posts: plain paths (normalized, as bytes for the prefilter) and query-style paths.
        self._plain: dict[bytes, int] = {}
        self._query: dict[str, list[tuple[dict[str, str], int]]] = {}
        for raw, post_id in (post_paths or {}).items():
            path_part, _, query = raw.partition("?")
            if query:
                self._query.setdefault(_norm_path(path_part or "/"), []).append(
                    (dict(parse_qsl(query)), int(post_id)))
            else:
                self._plain[_norm_path(path_part).encode()] = int(post_id)
        # The prefilter looks request paths up as they are: with and without the trailing slash.
        self._prefilter = set(self._plain) | {p + b"/" for p in self._plain}
        self._prefilter |= {p.encode() for p in self._query} | {p.encode() + b"/" for p in self._query}
        # Byte strings whose presence makes a line a candidate, searched chunk-wide at C speed: the ref
        # token, each bound path after the space that follows the method (as logged, percent-encoded,
        # and decoded), and one `name=value` of each query-style path (`p=12` for `/?p=12`).
        tokens = {self._ref_token}
        for p in self._plain:
            text = p.decode()
            for form in {text, quote(text, safe=_PATH_SAFE)}:
                tokens.add(b" " + form.encode())
        for wanted_list in self._query.values():
            for params, _ in wanted_list:
                if params:
                    k, v = next(iter(params.items()))
                    tokens.add(f"{k}={v}".encode())
        self._per_line = len(tokens) > MAX_FIND_TOKENS + 1 or any(len(t) < 3 for t in tokens)
        self._tokens = [self._ref_token] if self._per_line else sorted(tokens)

    # -- public -------------------------------------------------------------------------------
    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        report = SyncReport(self.name)
        report.detail.update(lines=0, candidates=0, ignored=0, duplicates=0, unattributed=0)
        self._quarantined_this_sync = 0
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            report.detail["missing"] = self.path
            return report
        cursor = dict(ctx.cursor(self.name) or {})
        window: dict[str, int] = dict(cursor.get("window") or {})
        inode, fid, offset = cursor.get("inode"), cursor.get("file"), int(cursor.get("offset") or 0)
        if since is not None:  # a backfill re-reads the current file; known keys change nothing
            inode, fid, offset, window = None, None, 0, {}
        if inode is not None and inode != st.st_ino:
            rotated = self.path + ".1"
            try:
                rst = os.stat(rotated)
            except FileNotFoundError:
                rst = None
            if rst is not None and rst.st_ino == inode and rst.st_size >= offset:
                self._read(ctx, rotated, inode, offset, window, report, final=True)
                report.detail["rotated"] = rotated
            else:
                report.detail["rotated_lost"] = f"{rotated} not found with inode {inode}"
                log.warning("%s: rotated file %s is gone; lines after offset %s of the old log are lost",
                            self.name, rotated, offset)
            offset = 0
        elif inode is not None and (st.st_size < offset or (fid and file_id(self.path, st.st_ino) != fid)):
            report.detail["truncated"] = True  # copytruncate: the same inode starts over
            offset = 0
        self._read(ctx, self.path, st.st_ino, offset, window, report, final=False)
        return report

    def check(self) -> list[tuple[str, bool, str]]:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            return [(f"{self.name}: {self.path}", False, f"cannot read: {exc.strerror}")]
        try:
            with open(self.path, "rb") as fh:
                fh.read(1)
        except OSError as exc:
            return [(f"{self.name}: {self.path}", False, f"cannot read: {exc.strerror}")]
        return [(f"{self.name}: {self.path}", True,
                 f"{st.st_size} bytes, {len(self._plain) + sum(map(len, self._query.values()))} bound post "
                 f"paths, ref param {self.ref_param!r}")]

    # -- reading ------------------------------------------------------------------------------
    def _candidate_starts(self, body: bytes) -> Iterable[int]:
        """Start offsets (in `body`, whole lines) of the lines that may count: found with C-speed
        `bytes.find` for the ref token and each bound path; per line only with many bound paths."""
        starts: set[int] = set()
        for token in self._tokens:
            pos = body.find(token)
            while pos >= 0:
                starts.add(body.rfind(b"\n", 0, pos) + 1)
                eol = body.find(b"\n", pos)
                pos = body.find(token, eol) if eol >= 0 else -1
        if self._per_line:
            wanted = self._prefilter
            at = 0
            for line in body.split(b"\n"):
                try:  # the request path, as cheaply as Python allows
                    p = line.split(b'"', 2)[1].split(b" ", 2)[1].partition(b"?")[0]
                except IndexError:
                    p = b""
                if p in wanted or (b"%" in p and _norm_path(p.decode("utf-8", "replace")).encode() in wanted):
                    starts.add(at)
                at += len(line) + 1
        return sorted(starts)

    def _read(self, ctx: SyncContext, path: str, inode: int, offset: int, window: dict[str, int],
              report: SyncReport, final: bool) -> None:
        fid = file_id(path, inode, final)
        if fid is None:  # not even one complete line yet
            ctx.commit(self.name, [], {"inode": inode, "file": None, "offset": 0, "window": dict(window)})
            return
        events: list[Event] = []
        base = offset  # file offset of the first byte of `body`
        latest = 0
        carry = b""
        with open(path, "rb") as fh:
            fh.seek(offset)
            while True:
                data = fh.read(CHUNK)
                if data:
                    chunk = carry + data if carry else data
                    cut = chunk.rfind(b"\n") + 1
                    body, carry = chunk[:cut], chunk[cut:]
                    if not body:
                        continue  # one very long line: keep reading
                elif final and carry:  # a rotated file's last line will never be finished
                    body, carry = carry + b"\n", b""
                else:
                    break
                lines = body.count(b"\n")
                real = len(body) if data else len(body) - 1  # minus the newline added above
                report.detail["lines"] += lines
                report.records += lines
                for start in self._candidate_starts(body):
                    stop = body.find(b"\n", start) + 1
                    line = body[start:stop]
                    report.detail["candidates"] += 1
                    stamp = self._line_events(ctx, path, fid, base + start, line, window, report, events)
                    if stamp > latest:
                        latest = stamp
                        if len(window) > 50_000:
                            self._prune(window, latest)
                    if len(events) >= self.batch_events:  # every line before this one is done
                        self._commit(ctx, events, inode, fid, base + min(stop, real), window, latest, report)
                        events = []
                base += real
        self._commit(ctx, events, inode, fid, base, window, latest, report)

    def _commit(self, ctx, events, inode, fid, offset, window, latest, report) -> None:
        if latest:
            self._prune(window, latest)
        report.events += ctx.commit(self.name, events, {"inode": inode, "file": fid, "offset": offset,
                                                        "window": dict(window)})
        report.pages += 1
        ctx.progress(self.name, report.pages, None, report.records)

    def _prune(self, window: dict[str, int], latest: int) -> None:
        horizon = latest - self.visitor_window
        for key in [k for k, t in window.items() if t <= horizon]:
            del window[key]

    def _line_events(self, ctx, path, fid, start, line, window, report, out) -> int:
        m = _LINE.match(line)
        if m is None:
            self._quarantine(ctx, f"{path}:{start}", "not a combined log line", line)
            return 0
        try:
            at = parse_log_time(m.group("time").decode("ascii"))
        except (ValueError, KeyError, UnicodeDecodeError):
            self._quarantine(ctx, f"{path}:{start}", "bad time in log line", line)
            return 0
        stamp = int(at.timestamp())
        method = m.group("method")
        status = int(m.group("status"))
        if method not in (b"GET", b"HEAD") or not 200 <= status < 400:
            report.detail["ignored"] += 1
            return stamp
        target = m.group("target").decode("utf-8", "replace")
        raw_path, _, query = target.partition("?")
        if is_asset(raw_path):
            report.detail["ignored"] += 1
            return stamp
        ua_raw = m.group("ua")
        ua = ua_raw.decode("utf-8", "replace") if ua_raw is not None else ""
        if is_bot(ua):
            report.detail["ignored"] += 1
            return stamp
        params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        attribution = ctx.attribution
        found: list[tuple[str, str | None, str]] = []
        tracking = params.get(self.ref_param)
        if tracking:
            owner = attribution.by_tracking_id.get(tracking)
            found.append((REFERRED, owner, f"tracking id {tracking!r}"))
        post_id = self._post_of(raw_path, params)
        if post_id is not None:
            owner = attribution.by_post.get(post_id)
            if owner is None and post_id in self.post_authors:
                owner = attribution.by_wp_user.get(self.post_authors[post_id])
            found.append((BOUND_POST, owner, f"post {post_id}"))
        if not found:
            return stamp
        visitor = None
        for kind, owner, what in found:
            if owner is None:
                report.detail["unattributed"] += 1
                continue
            if visitor is None:
                visitor = hashlib.blake2b(m.group("ip") + b"\0" + (ua_raw or b""), digest_size=8).hexdigest()
            wkey = f"{visitor}:{owner}:{'r' if kind == REFERRED else 'p'}"
            opened = window.get(wkey)
            if opened is not None and stamp - opened < self.visitor_window:
                report.detail["duplicates"] += 1
                continue
            window[wkey] = stamp
            out.append(Event(key=f"access_log:{kind}:{fid}:{start}", type=kind, at=at,
                             collaborator=owner, source=self.name))
        return stamp

    def _post_of(self, raw_path: str, params: Mapping[str, str]) -> int | None:
        path = _norm_path(raw_path)
        post_id = self._plain.get(path.encode())
        if post_id is not None:
            return post_id
        for wanted, pid in self._query.get(path, ()):
            if all(params.get(k) == v for k, v in wanted.items()):
                return pid
        return None

    def _quarantine(self, ctx, where: str, reason: str, line: bytes) -> None:
        self._quarantined_this_sync += 1
        if self._quarantined_this_sync <= MAX_QUARANTINE_PER_SYNC:
            ctx.quarantine(where, reason, line[:2000].decode("utf-8", "replace"))
        elif self._quarantined_this_sync == MAX_QUARANTINE_PER_SYNC + 1:
            log.warning("%s: more than %d unparseable lines in this sync; not quarantining the rest",
                        self.name, MAX_QUARANTINE_PER_SYNC)


# -- Siren engagements ---------------------------------------------------------------------------

SIREN_COUNTED_STATUSES = ("active", "complete")


def parse_siren_time(text: str) -> datetime:
    """Siren dates: ISO 8601 or MySQL `Y-m-d H:i:s`; without an offset they are taken as UTC."""
    value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SirenEngagementsSource:
    """`referredSiteVisit` events from Siren Affiliates' engagements (`/siren/v1/engagements`).

    Engagements have a monotonic id and are read-only, and the route has no date filter, so the
    source walks `orderBy=id&order=DESC` pages (`number=50`, Siren's silent cap) from offset 0 until
    it meets an id at or below the last one committed: an engagement created during the walk only
    shifts older rows down (read twice, recorded once), so none can be skipped, which an ASC walk
    with `offset` could not promise. The new engagements are then committed oldest first, in chunks,
    each with the highest id committed so far as the cursor. An engagement still `pending` is kept
    in the cursor (at most `max_pending`, the newest) and looked at again on later syncs until it
    becomes active or complete (then counted) or disappears: the walk goes on down to the pending
    ones within `walk_back` ids of the last id (or to all of them when that takes fewer requests),
    older ones are read by id (`/siren/v1/engagements/<id>`).

    Siren's `collaboratorId` is Siren's own id: `collaborator_ids` maps it to ours; otherwise a known
    collaborator whose id is `str(siren id)`. Unknown ones are quarantined. Times are `dateCreated`,
    taken as UTC when they carry no offset.
    """

    route = "siren/v1/engagements"

    def __init__(self, upstream, *, collaborator_ids: Mapping[Any, str] | None = None,
                 known_collaborators: Iterable[str] = (), page_size: int = 50, chunk: int = 1000,
                 max_pending: int = 1000, walk_back: int = 500, name: str = "siren"):
        self.name = name
        self.upstream = upstream
        self.collaborator_ids = {str(k): v for k, v in (collaborator_ids or {}).items()}
        self.known = set(known_collaborators)
        self.page_size = page_size
        self.chunk = chunk
        self.max_pending = max_pending
        self.walk_back = walk_back

    def _owner(self, ctx: SyncContext, siren_id: Any) -> str | None:
        key = str(siren_id)
        if key in self.collaborator_ids:
            return self.collaborator_ids[key]
        return key if key in self._known_now else None

    def _event(self, ctx: SyncContext, item: Mapping[str, Any], report: SyncReport) -> Event | None:
        where = f"{self.route}/{item.get('id')}"
        owner = self._owner(ctx, item.get("collaboratorId"))
        if owner is None:
            ctx.quarantine(where, f"Siren collaborator {item.get('collaboratorId')!r} is not mapped to a "
                                  "collaborator (sync.siren.collaborator_ids)", dict(item))
            report.quarantined += 1
            return None
        try:
            at = parse_siren_time(item["dateCreated"])
        except (KeyError, TypeError, ValueError):
            ctx.quarantine(where, f"bad or missing dateCreated {item.get('dateCreated')!r}", dict(item))
            report.quarantined += 1
            return None
        return Event(key=f"siren:{REFERRED}:{int(item['id'])}", type=REFERRED, at=at, collaborator=owner,
                     source=self.name)

    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        report = SyncReport(self.name)
        a = ctx.attribution
        self._known_now = set(self.known).union(
            *(index.values() for index in (a.by_tracking_id, a.by_coupon, a.by_wp_user, a.by_product, a.by_post)))
        cursor = dict(ctx.cursor(self.name) or {})
        last_id = None if since is not None else cursor.get("last_id")
        pending = {int(x) for x in cursor.get("pending") or ()}
        # Pending engagements near the top are met again by the walk (it goes on down to the oldest
        # of them, at most `walk_back` ids below the last one); older ones are looked up one by one.
        reach = int(last_id) - self.walk_back if last_id is not None else None
        near = {eid for eid in pending if reach is not None and eid > reach}
        far = pending - near
        if far and last_id is not None and (int(last_id) - min(far)) / self.page_size <= len(far):
            near = pending  # walking down to the oldest costs fewer requests than reading them one by one
        stop_below = min([int(last_id)] + sorted(near)[:1]) if last_id is not None else None
        new: dict[int, Mapping[str, Any]] = {}
        again: dict[int, Mapping[str, Any]] = {}
        offset = 0
        while True:
            page, _headers = wp.get_json(self.upstream, self.route, {
                "orderBy": "id", "order": "DESC", "number": self.page_size, "offset": offset})
            if not isinstance(page, list):
                raise wp.bad_shape(self.upstream, self.route, "a JSON array")
            report.pages += 1
            report.records += len(page)
            ctx.progress(self.name, report.pages, None, report.records)
            if not page:
                break
            done = False
            for item in page:
                eid = int(item["id"])
                if last_id is None or eid > int(last_id):
                    new[eid] = item
                elif eid in near:
                    again[eid] = item
                if stop_below is not None and eid <= stop_below:
                    done = True
                    break
            if done:
                break
            offset += len(page)  # what really came back, whatever the server's cap is
        still_pending: set[int] = set()
        events: list[Event] = []
        for eid in sorted(pending - set(new)):
            item = again.get(eid)
            if item is None:
                try:
                    item, _ = wp.get_json(self.upstream, f"{self.route}/{eid}", None)
                except Exception as exc:  # noqa: BLE001 - a vanished engagement is dropped
                    if wp.http_status(exc) in (404, 410):
                        continue
                    raise
            self._take(ctx, item, report, events, still_pending)
        top = int(last_id) if last_id is not None else None
        ordered = sorted(new)
        for n, eid in enumerate(ordered, 1):
            self._take(ctx, new[eid], report, events, still_pending)
            top = eid if top is None else max(top, eid)
            if len(events) >= self.chunk or n == len(ordered):
                report.events += ctx.commit(self.name, events, self._cursor(top, still_pending))
                events = []
        if not ordered:
            report.events += ctx.commit(self.name, events, self._cursor(top, still_pending))
        report.detail.update(new=len(new), pending=len(still_pending), last_id=top)
        return report

    def _cursor(self, top: int | None, pending: set[int]) -> dict[str, Any]:
        return {"last_id": top, "pending": sorted(pending)[-self.max_pending:]}

    def _take(self, ctx, item, report, events: list[Event], pending: set[int]) -> None:
        status = item.get("status")
        if status in SIREN_COUNTED_STATUSES:
            pending.discard(int(item["id"]))
            ev = self._event(ctx, item, report)
            if ev is not None:
                events.append(ev)
        elif status == "pending":
            pending.add(int(item["id"]))

    def check(self) -> list[tuple[str, bool, str]]:
        try:
            page, headers = wp.get_json(self.upstream, self.route, {"number": 1})
        except Exception as exc:  # noqa: BLE001 - check reports, never raises
            return [(f"{self.name}: {self.route}", False, str(exc))]
        count = {k.lower(): v for k, v in (headers or {}).items()}.get("x-siren-estimated-count", "?")
        return [(f"{self.name}: {self.route}", True, f"reachable, about {count} engagements")]
