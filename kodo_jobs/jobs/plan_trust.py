"""Saved-plan actions of ``batch``, ``cdn``, ``pfop`` and ``fetch`` jobs, checked against the job.

A saved plan is untrusted input (``run --plan``): whoever can edit the file must not be able to
turn a reviewed ``stat`` into a ``delete``, send a ``move`` to another bucket, or make a CDN
report write a file anywhere on the machine. Each action must be one the job's own planner could
have produced; what can be derived from the manifest is derived again and compared, and the
action runs with the derived values. :mod:`kodo_jobs.jobs.sync.trust` does the same for sync.

What is derived: the op and its phase (every kind); for batch, the destination of a
``move``/``copy``/``rename`` (its bucket always; its key too unless a ``keys_file`` line gave it)
and the soft-delete parameters, and an inline ``keys:`` list bounds the keys; for pfop, the fops
and their outputs from the key; for cdn, every URL from the job's lists and every file a report
or a log download writes; for fetch, the URL of each key when the job lists ``urls:`` inline.
What cannot be derived without reading the job's input file again (a destination or URL from a
``keys_file``/``urls_file`` line) is taken from the plan, as reviewed: it names only objects of
the job's own bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kodo_jobs.actions import ERROR_OP, Action
from kodo_jobs.jobs import batch
from kodo_jobs.jobs.saveas import expand_fops
from kodo_jobs.jobs.sync.trust import Untrusted

if TYPE_CHECKING:
    from kodo_jobs.manifest.models import AnyJob
    from kodo_jobs.manifest.spec_batch import BatchJob
    from kodo_jobs.manifest.spec_cdn import CdnJob
    from kodo_jobs.manifest.spec_fetch import FetchJob
    from kodo_jobs.manifest.spec_pfop import PfopJob

NEVER_RUN = frozenset({"skip", "same", ERROR_OP})
"""Ops the executor never sends anywhere (an ``error`` only fails its job)."""


def trusted(spec: AnyJob, action: Action) -> Action:
    """``action`` with what the job decides rebuilt from the job, or :class:`Untrusted`."""
    if action.op in NEVER_RUN:
        return action
    if spec.kind == "batch":
        return _batch(spec, action)
    if spec.kind == "cdn":
        return _cdn(spec, action)
    if spec.kind == "pfop":
        return _pfop(spec, action)
    if spec.kind == "fetch":
        return _fetch(spec, action)
    raise Untrusted(f"a {spec.kind} job has no saved actions")


def _with(action: Action, params: Mapping[str, object], phase: int | None = None) -> Action:
    return Action(action.job, action.op, action.key, action.size,
                  action.phase if phase is None else phase, params)


def _batch(spec: BatchJob, action: Action) -> Action:
    name = str(spec.op.name)
    if action.op != name:
        raise Untrusted(f"the job's op is {name!r}, not {action.op!r}")
    phase = 1 if batch.is_destructive(spec) else 0
    if action.phase != phase:
        raise Untrusted(f"phase {action.phase}: this job's {name} runs in phase {phase}")
    prefix = spec.select.prefix if spec.select is not None else ""
    if not action.key.startswith(prefix):
        raise Untrusted(f"the key is outside the job's select prefix {prefix!r}")
    if spec.keys is not None and action.key not in spec.keys:
        raise Untrusted("the key is not in the job's keys: list")
    params = dict(action.params)
    rebuilt = batch.kept_params(params)
    explicit = params.get("dest_key") if "line" in params and name in batch.PAIR_OPS else None
    if explicit is not None and not isinstance(explicit, str):
        raise Untrusted("its destination key is not a string")
    refused = batch.BatchKind._prepare(spec, action.key, action.size, explicit, rebuilt)
    if refused is not None:
        raise Untrusted(f"the job would {refused.op} this key, not {name} it")
    for field in ("dest_bucket", "dest_key", "soft", "days"):
        if params.get(field) != rebuilt.get(field):
            raise Untrusted(f"its {field} {params.get(field)!r} is not the job's {rebuilt.get(field)!r}")
    return _with(action, rebuilt)


def _cdn(spec: CdnJob, action: Action) -> Action:
    lists = {"refresh": spec.refresh_urls, "refresh_dir": spec.refresh_dirs, "prefetch": spec.prefetch_urls}
    if action.op in lists:
        if action.key not in lists[action.op]:
            raise Untrusted(f"the URL is not in the job's {action.op} list")
        return _with(action, {k: v for k, v in action.params.items() if k == "fp"}, phase=0)
    report = spec.report
    if action.op == "report" and report is not None:
        if action.key != str(report.out):
            raise Untrusted(f"a report is written to {str(report.out)!r}, not {action.key!r}")
        params = {"domains": list(report.domains), "start": report.start.isoformat(),
                  "end": report.end.isoformat(), "granularity": report.granularity, "flux": report.flux,
                  "bandwidth": report.bandwidth, "format": report.format}
        if "fp" in action.params:
            params["fp"] = action.params["fp"]
        return _with(action, params, phase=0)
    if action.op == "log" and report is not None and report.logs_dir is not None and report.logs_day is not None:
        domain, name = action.params.get("domain"), action.params.get("name")
        if domain not in report.domains:
            raise Untrusted(f"domain {domain!r} is not one of the report's domains")
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
            raise Untrusted(f"log file name {name!r} is not a plain file name")
        if action.key != f"{domain}/{name}":
            raise Untrusted("the key is not the log's domain/name")
        dest = Path(report.logs_dir) / str(domain) / name
        return _with(action, {"domain": domain, "name": name, "day": report.logs_day.isoformat(),
                              "dest": str(dest)}, phase=0)
    raise Untrusted(f"a cdn job never plans {action.op!r}")


def _pfop(spec: PfopJob, action: Action) -> Action:
    if action.op != "pfop":
        raise Untrusted(f"a pfop job never plans {action.op!r}")
    if spec.keys is not None and action.key not in spec.keys:
        raise Untrusted("the key is not in the job's keys: list")
    params = {k: v for k, v in action.params.items() if k in ("line", "fp", "persistent_id")}
    try:
        expanded = expand_fops(spec.fops, spec.bucket, action.key) if spec.fops else None
    except ValueError as exc:
        raise Untrusted(f"the job cannot process this key: {exc}") from exc
    if expanded is not None:
        params["fops"] = expanded.fop
        if expanded.outputs:
            params["outputs"] = [f"{b}:{k}" for b, k in expanded.outputs]
    for field in ("fops", "outputs"):
        if action.params.get(field) != params.get(field):
            raise Untrusted(f"its {field} are not the job's")
    return _with(action, params, phase=0)


def _fetch(spec: FetchJob, action: Action) -> Action:
    if action.op not in ("fetch", "prefetch") or (action.op == "prefetch") != bool(spec.prefetch):
        raise Untrusted(f"this fetch job never plans {action.op!r}")
    if action.op == "fetch" and spec.urls is not None:
        url = action.params.get("url")
        if url not in {str(u) for u in spec.urls}:
            raise Untrusted("its URL is not in the job's urls: list")
    return _with(action, dict(action.params), phase=0)


__all__ = ["NEVER_RUN", "trusted"]
