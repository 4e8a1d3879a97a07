"""``/_emulator/stats`` counts downloads exactly: answers per code (200/206/416/404) and the
body bytes each code carried, as the server wrote them (issue 22)."""

from __future__ import annotations

import io

import requests

from kodo_jobs.emulator.server import RunningEmulator

B = "test-bucket"


def test_download_answers_and_bytes_are_counted_exactly(emulator: RunningEmulator) -> None:
    data = bytes(range(256)) * 4000 + b"tail"  # 1,024,004 bytes: several chunks
    emulator.store.put_object(B, "obj", io.BytesIO(data), mime="application/x-test", fsize=len(data), hash="h")
    url = f"{emulator.url}/dl/{B}/obj"
    before = emulator.stats()
    assert before["downloads"] == {"responses": {}, "bytes": {}, "bytes_total": 0}

    assert requests.get(url, timeout=30).content == data
    part = requests.get(url, headers={"Range": "bytes=1000-"}, timeout=30)
    assert (part.status_code, part.content) == (206, data[1000:])
    past = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=30)
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{len(data)}"
    assert requests.get(f"{emulator.url}/dl/{B}/missing", timeout=30).status_code == 404
    assert requests.head(url, timeout=30).status_code == 200  # HEAD is not a download

    doc = requests.get(f"{emulator.url}/_emulator/stats", timeout=30).json()
    assert doc["downloads"] == {
        "responses": {"200": 1, "206": 1, "404": 1, "416": 1},
        "bytes": {"200": len(data), "206": len(data) - 1000},
        "bytes_total": 2 * len(data) - 1000,
    }
    for key in ("requests", "bytes_received", "faults_injected", "objects"):  # existing keys stay
        assert key in doc
    assert doc["bytes_sent"] - before["bytes_sent"] >= 2 * len(data) - 1000
