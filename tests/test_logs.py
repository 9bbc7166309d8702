"""The last line of defence: whatever a message or a traceback holds, the log line has no secret."""
import json
import logging

import pytest

from siren_sync import logs


@pytest.fixture(autouse=True)
def restore_root_logger():
    """logs.setup replaces the root handlers; give the next tests theirs back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def _emit(capsys, fmt, *args, exc=None):
    logs.setup("INFO", fmt)
    log = logging.getLogger("siren_sync.test")
    if exc is None:
        log.warning(*args)
    else:
        try:
            raise exc
        except RuntimeError:
            log.exception(*args)
    return capsys.readouterr().err


def test_query_secrets_auth_headers_and_url_credentials_are_masked(capsys):
    err = _emit(capsys, "text", "GET %s with %s", "http://shop/wp-json/wc/v3/orders?consumer_key=ck_1&consumer_secret=cs_2",
                "{'Authorization': 'Basic YWRtaW46c2VjcmV0'} and https://admin:hunter2@shop.example/")
    assert "cs_2" not in err and "ck_1" not in err and "YWRtaW46c2VjcmV0" not in err and "hunter2" not in err
    assert "consumer_secret=***" in err


def test_json_lines_mask_secrets_in_tracebacks_too(capsys):
    err = _emit(capsys, "json", "sync failed", exc=RuntimeError("GET /x?oauth_signature=abc&password=p4ss"))
    line = json.loads(err.strip().splitlines()[-1])
    assert line["level"] == "error" and line["message"] == "sync failed"
    assert "p4ss" not in err and "abc" not in line["error"]


def test_a_database_url_keeps_its_user_and_host_but_never_its_password(capsys):
    err = _emit(capsys, "text", "store %s: %s", "postgres://app:s3cr%40t@db.example:5432/site?sslmode=require",
                "postgresql://db.example/site?password=hunter2&sslmode=require")
    assert "s3cr" not in err and "hunter2" not in err
    assert "postgres://app:***@db.example:5432/site?sslmode=require" in err
    assert "postgresql://db.example/site?password=***&sslmode=require" in err
