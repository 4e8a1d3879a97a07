"""Log redaction: credentials never reach a log line, whatever field they hide in."""

from __future__ import annotations

import io
import json

import structlog
from pydantic import SecretStr

from kodo_jobs.log import configure, redact_text, register_secret

SK = "Zq8sEcReTkEy0123456789abcdefGHIJ"
TOKEN = "AKAKAKAKAKAK1234:" + "a" * 27 + "=:" + "eyJzY29wZSI6Im1lZGlhIiwiZGVhZGxpbmUiOjE3MDAwMDAwMDB9"


def test_patterns() -> None:
    assert "abc" not in redact_text("GET /dl/b/k?e=1&token=AK12:abc")
    assert TOKEN not in redact_text(f"upload token {TOKEN} refused")
    assert "sign" not in redact_text("Authorization: Qiniu AK1234:signsignsignsignsignsignsign=").split("Qiniu")[1]
    assert redact_text("key photos/2024:a.jpg 12 bytes") == "key photos/2024:a.jpg 12 bytes"


def test_json_lines_redacted(capsys: object) -> None:
    register_secret(SK)
    buf = io.StringIO()
    configure("json")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buf))
    log = structlog.get_logger()
    log.warning("retrying", secret_key=SecretStr(SK), url=f"http://h/?token={TOKEN}", note=f"sk={SK}",
                nested={"authorization": "QBox x:y", "list": [SK]}, error=RuntimeError(f"bad {SK}"))
    line = buf.getvalue().strip()
    doc = json.loads(line)
    assert doc["event"] == "retrying" and doc["level"] == "warning"
    assert SK not in line and TOKEN not in line and "x:y" not in line
