"""``/v2/list`` (issue 21): line-delimited JSON, one entry per line (``item`` or ``dir``) with the
marker that resumes after it; same order, markers and delimiter semantics as ``/list``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from kodo_jobs.emulator.server import RunningEmulator
from tests.emulator.helpers import mgmt
from tests.emulator.store.test_listing import KEYS, _fill, reference


def _v2(emulator: RunningEmulator, **params: Any) -> requests.Response:
    query = "&".join(f"{k}={requests.utils.quote(str(v), safe='')}" for k, v in params.items())
    return mgmt(emulator, "POST", f"/v2/list?bucket=test-bucket&{query}")


def _lines(resp: requests.Response) -> list[dict[str, Any]]:
    assert resp.status_code == 200, resp.text
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def _entries(lines: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [("prefix", line["dir"]) if line["dir"] else ("item", line["item"]["key"]) for line in lines]


@pytest.mark.parametrize(("prefix", "delimiter"), [("", ""), ("", "/"), ("a", "/"), ("logs/", "/"), ("d/", ""),
                                                   ("c/", "/"), ("zz", "/")])
def test_whole_listing_matches_the_reference(emulator: RunningEmulator, prefix: str, delimiter: str) -> None:
    _fill(emulator)
    lines = _lines(_v2(emulator, prefix=prefix, delimiter=delimiter))
    assert _entries(lines) == reference(KEYS, prefix, delimiter)
    for line in lines:
        assert set(line) == {"item", "dir", "marker"}
        if line["item"] is not None:
            assert {"key", "hash", "fsize", "mimeType", "putTime", "type"} <= set(line["item"])
    if lines:
        assert lines[-1]["marker"] == ""  # the end of the listing


@pytest.mark.parametrize("delimiter", ["", "/"])
def test_every_marker_resumes_right_after_its_entry(emulator: RunningEmulator, delimiter: str) -> None:
    _fill(emulator)
    lines = _lines(_v2(emulator, delimiter=delimiter))
    everything = _entries(lines)
    for i, line in enumerate(lines[:-1]):
        rest = _entries(_lines(_v2(emulator, delimiter=delimiter, marker=line["marker"])))
        assert rest == everything[i + 1:]


def test_limit_and_v1_markers_agree(emulator: RunningEmulator) -> None:
    _fill(emulator)
    first = _lines(_v2(emulator, delimiter="/", limit=3))
    assert _entries(first) == reference(KEYS, "", "/")[:3]
    # the marker of the last line is the one /list gives for the same page
    v1 = mgmt(emulator, "POST", "/list?bucket=test-bucket&delimiter=%2F&limit=3").json()
    assert first[-1]["marker"] == v1["marker"]
    rest = _lines(_v2(emulator, delimiter="/", marker=v1["marker"]))
    assert _entries(first + rest) == reference(KEYS, "", "/")


def test_refusals(emulator: RunningEmulator) -> None:
    assert mgmt(emulator, "POST", "/v2/list?bucket=nosuch").status_code == 631
    assert _v2(emulator, marker="!!garbage").status_code == 640
    assert mgmt(emulator, "POST", "/v2/list?bucket=test-bucket", secret_key="wrong").status_code == 401
    assert mgmt(emulator, "POST", "/v2/list").status_code == 400
