"""Manual measurement (not collected by pytest): fetch throughput and memory, pfop latency,
CDN call rates, all through the official SDK against an in-process emulator.

Run: `.venv/bin/python tests/emulator_services/measure_services.py [MiB]` (default 256).
"""

from __future__ import annotations

import functools
import os
import resource
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ["TMPDIR"] = tempfile.mkdtemp()  # before qiniu is imported (its region cache)

import qiniu  # noqa: E402
from qiniu import CdnManager  # noqa: E402

from kodo_jobs.emulator.config import EmulatorConfig  # noqa: E402
from kodo_jobs.emulator.server import start_emulator  # noqa: E402


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main(mib: int) -> None:
    root = Path(tempfile.mkdtemp())
    src = root / "src"
    src.mkdir()
    block = os.urandom(1 << 20)
    with open(src / "big.bin", "wb") as out:
        for _ in range(mib):
            out.write(block)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(src)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    emu = start_emulator(EmulatorConfig(data_dir=root / "data", access_key="ak", secret_key="sk", buckets=("b",)))
    try:
        qiniu.config.set_default(default_query_region_host=emu.url, default_api_host=emu.url)
        auth = qiniu.Auth("ak", "sk")
        bm = qiniu.BucketManager(auth)
        start = time.perf_counter()
        _, info = bm.fetch(f"{origin}/big.bin", "b", "big.bin")
        took = time.perf_counter() - start
        assert info.status_code == 200, info
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        print(f"fetch {mib} MiB: {took:.2f}s = {mib * 1.048576 / took:.0f} MB/s; peak RSS {peak} MiB")

        pf = qiniu.PersistentFop(auth, "b")
        start = time.perf_counter()
        op = "avthumb/mp4|saveas/" + qiniu.urlsafe_base64_encode("b:out.mp4")
        pid = pf.execute("big.bin", fops=[op])[0]["persistentId"]
        while pf.get_status(pid)[0]["code"] in (1, 2):
            time.sleep(0.01)
        print(f"pfop on a {mib} MiB input, submit -> done: {time.perf_counter() - start:.2f}s")

        cdn = CdnManager(auth)
        cdn.server = emu.url
        start = time.perf_counter()
        for _ in range(300):
            cdn.get_flux_data(["a.com"], "2024-01-01", "2024-01-01", "5min")
        print(f"get_flux_data (288 points): {300 / (time.perf_counter() - start):.0f} calls/s")
        start = time.perf_counter()
        for i in range(50):
            cdn.refresh_urls([f"http://a.com/{i}/{j}" for j in range(10)])
        print(f"refresh_urls (10 urls each): {50 / (time.perf_counter() - start):.0f} calls/s")
    finally:
        emu.stop()
        httpd.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 256)
