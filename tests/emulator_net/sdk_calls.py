"""Every call of the official SDK document, with the SDK's DEFAULT configuration.

Run as a separate process by ``test_sdk_through_proxy.py`` with only ``HTTP_PROXY``,
``HTTPS_PROXY`` and ``REQUESTS_CA_BUNDLE`` (and a private ``TMPDIR`` for the SDK's region
cache) in the environment: no ``set_default``, no hosts, real Kodo host names throughout. Prints
one JSON document: call name -> {"status": HTTP status, "ret": the SDK's parsed answer}.

One line beyond the environment: qiniu 7.18.0 sends through ``requests.Session.send``, which
takes proxies from the environment but not ``REQUESTS_CA_BUNDLE`` (only ``Session.request``
merges that), so its https region query would trust certifi alone. The SDK's one session is
told the bundle the environment names, as a user behind TLS inspection has to.

argv[1] is a JSON object: ak, sk, bucket (z2), private (z2, private, domain), fast (z0,
accelerated), domain (the private bucket's), origin (a loopback fetch source), big (path of
a file above the SDK's resumable threshold), small (path of a small file).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from typing import Any

import qiniu
import requests
from qiniu import (
    BucketManager,
    CdnManager,
    PersistentFop,
    build_batch_copy,
    build_batch_delete,
    build_batch_move,
    build_batch_rename,
    build_batch_stat,
    put_data,
    put_file,
)
from qiniu.http.default_client import qn_http_client
from qiniu.services.storage.uploaders import FormUploader, ResumeUploaderV2


def record(out: dict[str, Any], name: str, result: tuple[Any, Any]) -> None:
    ret, info = result[0], result[-1]
    out[name] = {"status": info.status_code, "ret": ret, "error": info.error if info.status_code != 200 else None}


def main() -> None:
    args = json.loads(sys.argv[1])
    qn_http_client.session.verify = os.environ["REQUESTS_CA_BUNDLE"]
    q = qiniu.Auth(args["ak"], args["sk"])
    bucket, private, fast = args["bucket"], args["private"], args["fast"]
    out: dict[str, Any] = {}

    # uploads: form, resumable v1, resumable v2 (the SDK finds the region through uc)
    record(out, "put_data", put_data(q.upload_token(bucket, "form.txt", 3600), "form.txt", b"hello form"))
    record(out, "put_file_v1", put_file(q.upload_token(bucket, "big-v1.bin", 3600), "big-v1.bin", args["big"],
                                        version="v1"))
    record(out, "put_file_v2", put_file(q.upload_token(bucket, "big-v2.bin", 3600), "big-v2.bin", args["big"],
                                        version="v2"))
    record(out, "put_private", put_data(q.upload_token(private, "secret.txt", 3600), "secret.txt", b"private bytes"))
    # transfer acceleration, as the document shows it (a Region naming the acceleration domain)
    acc = f"https://{fast}.kodo-accelerate.cn-east-1.qiniucs.com"
    form_uploader = FormUploader(fast, regions=[qiniu.Region(up_host=acc)])
    record(out, "acc_form", form_uploader.upload("acc-form.txt", args["small"], up_token=q.upload_token(fast, "acc-form.txt", 3600)))
    resume = ResumeUploaderV2(fast, regions=[qiniu.Region(up_host=acc)])
    record(out, "acc_resume_v2", resume.upload("acc-v2.bin", args["big"], up_token=q.upload_token(fast, "acc-v2.bin", 3600)))

    # a region that is not the bucket's: Kodo's 400; acceleration asked for a bucket without it:
    # Kodo's "not configured" 400 (the answer the SDK's AccUnavailableRetryPolicy looks for)
    wrong = qiniu.Region(up_host="https://up-z1.qiniup.com")
    record(out, "wrong_region", put_data(q.upload_token(bucket, "wrong.txt", 3600), "wrong.txt", b"x",
                                         regions=[wrong]))
    record(out, "acc_form_no_fallback", put_data(q.upload_token(bucket, "acc-form.txt", 3600), "acc-form.txt",
                                                 b"form", accelerate_uploading=True))

    # resource management
    bm = BucketManager(q)
    record(out, "stat", bm.stat(bucket, "form.txt"))
    record(out, "list", bm.list(bucket, None, None, 100, None))
    record(out, "fetch", bm.fetch(args["origin"], bucket, "fetched.txt"))
    record(out, "prefetch", bm.prefetch(bucket, "mirrored.txt"))
    record(out, "copy", bm.copy(bucket, "form.txt", bucket, "copy.txt"))
    record(out, "move", bm.move(bucket, "copy.txt", bucket, "moved.txt"))
    record(out, "delete_after_days", bm.delete_after_days(bucket, "moved.txt", "7"))
    record(out, "change_type", bm.change_type(bucket, "moved.txt", 1))
    record(out, "change_mime", bm.change_mime(bucket, "moved.txt", "image/jpg"))
    record(out, "delete", bm.delete(bucket, "moved.txt"))
    record(out, "batch_copy", bm.batch(build_batch_copy(bucket, {"form.txt": "b1.txt", "fetched.txt": "b2.txt"},
                                                        bucket, force="true")))
    record(out, "batch_rename", bm.batch(build_batch_rename(bucket, {"b1.txt": "r1.txt"}, force="true")))
    record(out, "batch_move", bm.batch(build_batch_move(bucket, {"b2.txt": "m2.txt"}, bucket, force="true")))
    record(out, "batch_stat", bm.batch(build_batch_stat(bucket, ["r1.txt", "m2.txt"])))
    record(out, "batch_delete", bm.batch(build_batch_delete(bucket, ["r1.txt", "m2.txt"])))
    record(out, "list_domains", bm.list_domains(private))

    # persistent data processing (PersistentFop uses the SDK's default api host)
    pfop = PersistentFop(q, bucket)
    result = pfop.execute("form.txt", ["avinfo"], 1)
    record(out, "pfop", result)
    pid = (result[0] or {}).get("persistentId", "")
    record(out, "prefop", pfop.get_status(pid))

    # private download from the bucket's domain, over http and https
    for scheme in ("http", "https"):
        url = q.private_download_url(f"{scheme}://{args['domain']}/secret.txt", expires=3600)
        resp = requests.get(url, timeout=30)
        out[f"private_download_{scheme}"] = {"status": resp.status_code, "ret": resp.text, "error": None}
    resp = requests.get(f"http://{args['domain']}/secret.txt", timeout=30)
    out["private_download_unsigned"] = {"status": resp.status_code, "ret": resp.text, "error": None}

    # CDN
    cdn = CdnManager(q)
    record(out, "refresh_urls", cdn.refresh_urls([f"http://{args['domain']}/secret.txt"]))
    record(out, "refresh_dirs", cdn.refresh_dirs([f"http://{args['domain']}/dir/"]))
    record(out, "prefetch_urls", cdn.prefetch_urls([f"http://{args['domain']}/secret.txt"]))
    day = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    record(out, "log_list", cdn.get_log_list_data([args["domain"]], day))
    record(out, "flux", cdn.get_flux_data([args["domain"]], day, day, "day"))
    record(out, "bandwidth", cdn.get_bandwidth_data([args["domain"]], day, day, "5min"))
    logs = (out["log_list"]["ret"] or {}).get("data", {}).get(args["domain"], [])
    if logs:
        resp = requests.get(logs[0]["url"], timeout=30)
        out["log_download"] = {"status": resp.status_code, "ret": len(resp.content), "error": None}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
