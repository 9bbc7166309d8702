"""Logging as hosting platforms want it: plain text lines, or one JSON object a line.

Every log record passes a redaction filter first, so a secret that slipped into a message or an
exception (a URL with `consumer_secret=`, an `Authorization` header) is masked before it is written.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time

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


def setup(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once for the process (stderr, so stdout stays for command output)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
