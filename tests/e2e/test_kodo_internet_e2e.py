"""The proof: kodo-jobs with ``region: auto`` and only proxy + CA settings runs against Kodo's
real host names, served by the emulator's forward proxy (its "Kodo internet").

The manifest names no host at all. kodo-jobs asks ``uc.qiniuapi.com`` for the bucket's region
(z2), uploads to ``upload-z2.qiniup.com``, lists on ``rsf-z2``, manages on ``rs-z2``, fetches on
``iovip-z2``, runs pfop on ``api-z2``, refreshes the CDN on ``fusion.qiniuapi.com`` and downloads
from the bucket's domain. The emulator's stats say which host served each request and by which
channel: every one came through the proxy (CONNECT tunnels, TLS from the emulator's CA), none
directly. A wrong fixed region stops the run at the first upload with one message naming the
bucket's region; ``region: auto`` with the same bucket succeeds.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .conftest import AK, CLI, SK, EmulatorProc, make_tree

BUCKET = "south"
DOMAIN = "img.south.example"


@dataclass
class KodoInternet:
    """A ``kodo-jobs emulator --proxy-port 0`` process and what a client needs to use it."""

    emu: EmulatorProc
    proxy: str
    ca: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a kodo-jobs run that knows nothing but the proxy and the CA."""
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.pop("KODO_JOBS_LOG_LEVEL", None)
        env.update(HTTPS_PROXY=self.proxy, HTTP_PROXY=self.proxy, REQUESTS_CA_BUNDLE=str(self.ca),
                   PYTHONUNBUFFERED="1", **extra)
        return env


@pytest.fixture
def kodo_internet_factory(tmp_path: Path) -> Iterator[Callable[..., KodoInternet]]:
    procs: list[subprocess.Popen[str]] = []

    def start(*extra: str) -> KodoInternet:
        data = tmp_path / f"emulator-{len(procs)}"
        args = [*CLI, "emulator", "--port", "0", "--proxy-port", "0", "--data", str(data), "--access-key", AK,
                "--secret-key", SK, *extra]
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        procs.append(proc)
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        second = proc.stdout.readline().strip()
        assert first.startswith("listening on "), first
        assert second.startswith("proxy on "), second
        emu = EmulatorProc(proc, first.removeprefix("listening on ").strip(), data)
        return KodoInternet(emu, second.removeprefix("proxy on ").strip(), data / "ca.pem")

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
def kodo_internet(kodo_internet_factory: Callable[..., KodoInternet]) -> KodoInternet:
    return kodo_internet_factory("--bucket", f"{BUCKET}@z2", "--domain", f"{BUCKET}={DOMAIN}")


class _Origin(BaseHTTPRequestHandler):
    """A fetch source on loopback (Kodo fetches it; the client never does)."""

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        body = f"fetched {self.path}".encode() * 10
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _manifest(folder: Path, region: str, jobs: str, *, target_extra: str = "", bucket: str = BUCKET) -> Path:
    text = (f"version: 1\ntarget:\n  region: {region}\n  access_key: {AK}\n  secret_key: {SK}\n{target_extra}"
            f"defaults:\n  bucket: {bucket}\njobs:\n" + textwrap.indent(textwrap.dedent(jobs).strip(), "  ") + "\n")
    path = folder / "jobs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(net: KodoInternet, manifest: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "run", str(manifest), *args], cwd=manifest.parent, capture_output=True, text=True,
                          timeout=300, env=net.env(), check=False)


def _stats(net: KodoInternet) -> dict[str, Any]:
    return net.emu.stats()


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


EVERY_KIND = """
- name: up
  kind: sync
  source: ./site
  prefix: site/
- name: down
  kind: sync
  needs: [up]
  direction: download
  source: ./back
  prefix: site/
- name: tidy
  kind: batch
  needs: [up]
  select: {{prefix: site/}}
  op: {{copy: {{dest_prefix: copy/, strip_prefix: site/, force: true}}}}
- name: import
  kind: fetch
  urls: ["{origin}/one.txt", "{origin}/two.txt"]
  key_prefix: imported/
- name: thumbs
  kind: pfop
  needs: [up]
  keys: [site/d0/f00000.bin]
  fops: ["avthumb/mp4/s/640x360|saveas/$(bucket):out/$(stem).mp4"]
  poll_interval: 0.2s
  timeout: 60s
- name: purge
  kind: cdn
  refresh_urls: ["https://{domain}/site/d0/f00000.bin"]
"""


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"pretend video" * 40
"""The start of an MP4 file (an ``ftyp`` box): what the emulator's av fops take as media."""


def test_region_auto_with_only_proxy_and_ca_reaches_every_service_through_the_proxy(
        kodo_internet: KodoInternet, origin: str, tmp_path: Path) -> None:
    net = kodo_internet
    files = make_tree(tmp_path / "site", 6)
    # the pfop's input must be media (the emulator fails an av fop on anything else, as Kodo does)
    files["d0/f00000.bin"].write_bytes(MP4)
    manifest = _manifest(tmp_path, "auto", EVERY_KIND.format(origin=origin, domain=DOMAIN))
    before = _stats(net)
    result = _run(net, manifest)
    assert result.returncode == 0, result.stdout + result.stderr
    after = _stats(net)
    hosts = _delta(after["hosts"], before.get("hosts", {}))
    channels = _delta(after["channels"], before.get("channels", {}))
    # which host served what: the bucket's region (z2) for everything regional
    assert hosts.get("uc.qiniuapi.com", 0) >= 1  # region query and the bucket-domains call
    assert sum(n for h, n in hosts.items() if h in ("upload-z2.qiniup.com", "up-z2.qiniup.com")) >= len(files)
    for host in ("rsf-z2.qiniuapi.com", "rs-z2.qiniuapi.com", "iovip-z2.qiniuio.com", "api-z2.qiniuapi.com",
                 "fusion.qiniuapi.com", DOMAIN):
        assert hosts.get(host, 0) >= 1, (host, hosts)
    # no request bypassed the proxy: the one direct request is this test's own stats read
    base = net.emu.url.removeprefix("http://")
    assert [h for h in hosts if h.startswith("127.0.0.1")] == [base] and hosts[base] == 1, hosts
    assert channels == {"direct": 1, "tunnel": sum(hosts.values()) - 1}, channels
    for rel, path in files.items():
        assert (tmp_path / "back" / rel).read_bytes() == path.read_bytes()
    # a second run within the ttl asks uc nothing: the answer is in the state file
    before = _stats(net)
    again = _run(net, manifest)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _delta(_stats(net)["hosts"], before["hosts"]).get("uc.qiniuapi.com", 0) == 1  # the domains call only


def test_wrong_fixed_region_stops_with_one_message_and_auto_succeeds(
        kodo_internet: KodoInternet, tmp_path: Path) -> None:
    net = kodo_internet
    make_tree(tmp_path / "site", 12)
    jobs = "- name: up\n  kind: sync\n  source: ./site\n  concurrency: 1\n"
    before = _stats(net)
    wrong = _run(net, _manifest(tmp_path, "z1", jobs))
    out = wrong.stdout + wrong.stderr
    assert wrong.returncode == 1, out
    assert "Traceback" not in out
    assert "bucket 'south' is in region z2" in out and "region: z1" in out
    hosts = _delta(_stats(net)["hosts"], before.get("hosts", {}))
    uploads = sum(n for h, n in hosts.items() if h.startswith(("upload-", "up-")))
    assert uploads == 1 and hosts.get("upload-z1.qiniup.com") == 1, hosts  # stopped at the first answer
    # one failed action and the run stopped, not one failed action per file
    assert out.count("FAILED upload") == 1 and "failed 1, pending 11" in wrong.stdout, out
    assert "run stopped: bucket 'south' is in region z2" in wrong.stdout, out
    # region auto succeeds; this time the proxy and the CA come from the manifest, not the environment
    settings = f"  proxy: {net.proxy}\n  ca_bundle: {net.ca}\n"
    manifest = _manifest(tmp_path, "auto", jobs, target_extra=settings)
    env = {k: v for k, v in net.env().items() if not k.lower().endswith("_proxy") and k != "REQUESTS_CA_BUNDLE"}
    before = _stats(net)
    right = subprocess.run([*CLI, "run", str(manifest)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                           env=env, check=False)
    assert right.returncode == 0, right.stdout + right.stderr
    after = _stats(net)
    assert _delta(after["hosts"], before["hosts"]).get("upload-z2.qiniup.com") == 12
    assert _delta(after["channels"], before["channels"]).get("direct", 0) == 1  # this test's stats read


def test_acceleration_domains_first_and_the_normal_hosts_when_not_configured(
        kodo_internet_factory: Callable[..., KodoInternet], tmp_path: Path) -> None:
    net = kodo_internet_factory("--bucket", "fast:accelerate@z1", "--bucket", "plain@z2")
    make_tree(tmp_path / "site", 5)
    jobs = "- name: up\n  kind: sync\n  source: ./site\n  concurrency: 1\n"
    for bucket in ("fast", "plain"):
        folder = tmp_path / bucket
        folder.mkdir()
        (folder / "site").symlink_to(tmp_path / "site")
        before = _stats(net)
        result = _run(net, _manifest(folder, "auto", jobs, target_extra="  accelerate_uploading: true\n",
                                     bucket=bucket))
        assert result.returncode == 0, result.stdout + result.stderr
        hosts = _delta(_stats(net)["hosts"], before.get("hosts", {}))
        uploads = {h: n for h, n in hosts.items() if h.startswith(("upload", "up-", bucket + "."))}
        if bucket == "fast":  # acceleration configured: every upload on the bucket's acceleration domain
            assert uploads == {"fast.kodo-accelerate.cn-north-1.qiniucs.com": 5}, hosts
        else:  # not configured: one refusal, then the region's upload hosts for this and every later file
            assert uploads == {"plain.kodo-accelerate.cn-south-1.qiniucs.com": 1, "upload-z2.qiniup.com": 5}, hosts


def test_private_bucket_downloads_signed_urls_from_its_domain(
        kodo_internet_factory: Callable[..., KodoInternet], tmp_path: Path) -> None:
    net = kodo_internet_factory("--bucket", "secret:private@cn-east-2", "--domain", "secret=dl.secret.example",
                                "--bucket", "bare@z0")
    files = make_tree(tmp_path / "site", 4)
    jobs = """
    - name: up
      kind: sync
      source: ./site
    - name: down
      kind: sync
      needs: [up]
      direction: download
      private: true
      source: ./back
    """
    before = _stats(net)
    result = _run(net, _manifest(tmp_path, "auto", jobs, bucket="secret"))
    assert result.returncode == 0, result.stdout + result.stderr
    hosts = _delta(_stats(net)["hosts"], before.get("hosts", {}))
    assert hosts.get("dl.secret.example") == 4 and hosts.get("upload-cn-east-2.qiniup.com") == 4, hosts
    for rel, path in files.items():
        assert (tmp_path / "back" / rel).read_bytes() == path.read_bytes()
    # a bucket with no domain: a clear error before anything is listed or written (exit 2)
    nodomain = tmp_path / "nodomain"
    nodomain.mkdir()
    before = _stats(net)
    down = "- name: down\n  kind: sync\n  direction: download\n  source: ./back\n"
    failed = _run(net, _manifest(nodomain, "auto", down, bucket="bare"))
    out = failed.stdout + failed.stderr
    assert failed.returncode == 2, out
    assert "bucket 'bare' has no domain bound" in out and "download.base_url" in out and "Traceback" not in out
    assert not (nodomain / "back").exists()
    assert not [h for h in _delta(_stats(net)["hosts"], before["hosts"]) if h.startswith("rsf-")]  # nothing listed
