"""Logging as hosting platforms want it: plain text lines, or one JSON object a line.

Every log record passes a redaction filter first, so a secret that slipped into a message or an
exception (a URL with `consumer_secret=`, an `Authorization` header) is masked before it is written.

Lines meant for the person at the terminal (an error, a skipped import line, a warning about what a
command did) go through `say`: as they are in text mode, and as JSON objects like every other line
with `--log-format json`, so a platform reading stderr as JSON never meets a line it cannot parse.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import TextIO

_SECRET_PATTERNS = [
    re.compile(r"((?:consumer_key|consumer_secret|oauth_[a-z_]+|password|"
               r"application_password|app_password)=)[^&\s#\"']+", re.I),
    re.compile(r"((?:Authorization|Proxy-Authorization)['\"]?\s*[:=]\s*['\"]?)"
               r"(?:Basic|Bearer|OAuth)?\s*[^\s'\"]+", re.I),
    re.compile(r"([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(?=@)", re.I),  # user:password@ in any URL (postgres://)
]


def redact(text: object, secrets: tuple[str, ...] = ()) -> str:
    """`text` with secrets masked: secret query parameters, auth headers, credentials in URLs, and
    any of the known secret values `secrets` (those shorter than 4 characters would mask too much)."""
    text = str(text)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and any `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                   "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        payload.update(getattr(record, "fields", {}) or {})
        if record.exc_text:
            payload["error"] = record.exc_text
        return json.dumps(payload, default=str)


SAY = "siren_sync.say"  # the logger of `say`: lines for the user, whatever the log level


class _Stderr(logging.StreamHandler):
    """A handler writing to `sys.stderr` as it is when a line is written, not when it was set up:
    an embedding process (the demo, the tests) may have swapped it meanwhile."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def _handler(formatter: logging.Formatter) -> logging.Handler:
    handler = _Stderr()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(formatter)
    return handler


def setup(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once for the process (stderr, so stdout stays for command output),
    and the `say` lines in the same format."""
    root = logging.getLogger()
    root.handlers[:] = [_handler(JsonFormatter() if fmt == "json" else
                                 logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))]
    root.setLevel(level.upper())
    said = logging.getLogger(SAY)
    said.handlers[:] = [_handler(JsonFormatter() if fmt == "json" else logging.Formatter("%(message)s"))]
    said.propagate = False
    said.setLevel(logging.DEBUG)


def say(level: int, message: str, **fields: object) -> None:
    """One line for the user on stderr, plain or JSON as set up (secrets masked either way); `fields`
    go into the JSON object (`{"event": "import_line_skipped", "line": 3}`)."""
    logging.getLogger(SAY).log(level, "%s", message, extra={"fields": fields} if fields else None)
