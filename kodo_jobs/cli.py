"""Command-line parsing and dispatch only.

Each command is a plain function in ``kodo_jobs.commands.<name>`` that takes typed options
and returns an exit code; everything runs inside the single error boundary
(:mod:`kodo_jobs.error_handler`). Imports of the heavy parts are deferred so that
``kodo-jobs --help`` stays fast.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from kodo_jobs import __version__
from kodo_jobs.error_handler import boundary


class _Group(click.Group):
    """Click group whose usage errors exit 2 without a traceback (click's default too)."""


EXIT_CODES_HELP = """\b
Exit codes (every command):
  0    everything done, or nothing to do
  1    an action failed, a run-wide failure stopped the run, or a limit
       (max_delete / max_ops) refused the plan
  2    invalid input: manifest errors (file:line:col), bad options, a missing
       source folder, a corrupt or foreign state file
  3    another run holds the lock of this state file
  4    plan --exit-code only: the plan has changes
  130  interrupted (SIGINT/SIGTERM, --max-duration, --max-bytes); state saved
"""
"""The exit-code table shown under every command's ``--help`` (the README has the same table)."""


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="kodo-jobs")
def cli() -> None:
    """Declarative, resumable job runner for Qiniu Kodo object storage."""


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(manifests: tuple[Path, ...]) -> None:
    """Check manifests; print one line per valid file, every located error otherwise."""
    import kodo_jobs.commands.validate as cmd
    _start_up_done()

    sys.exit(boundary(lambda: cmd.validate(list(manifests))))


_job_option = click.option(
    "--job", "jobs", multiple=True, metavar="NAME", help="Only these jobs (repeatable); `needs` are not pulled in."
)
_state_option = click.option(
    "--state", type=click.Path(path_type=Path), default=None,
    help="Checkpoint file (default: <manifest>.kjstate beside the manifest).",
)
_log_option = click.option(
    "--log-format", type=click.Choice(["console", "json"]), default="console", show_default=True,
    help="Log lines on stderr: human console lines or structlog JSON lines.",
)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with every action and the summary "
              "(same as --format json).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default=None,
              help="text (default), json, or markdown for a pull-request comment (under 65,536 characters).")
@click.option("--all", "show_all", is_flag=True, help="List every action instead of folding long lists.")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None, help="Save the plan to a file for `run --plan`.")
@click.option("--exit-code", "detailed_exit", is_flag=True, help="Exit 4 when the plan has changes, 0 when it has none.")
@_job_option
@_state_option
@_log_option
def plan(manifest: Path, as_json: bool, fmt: str | None, show_all: bool, out: Path | None, detailed_exit: bool,
         jobs: tuple[str, ...], state: Path | None, log_format: str) -> None:
    """Show what `run` would do, without changing anything."""
    import kodo_jobs.commands.plan as cmd
    _start_up_done()

    if as_json and fmt not in (None, "json"):
        raise click.UsageError(f"--json and --format {fmt} contradict each other: use one")
    sys.exit(boundary(lambda: cmd.plan(
        manifest, as_json=as_json or fmt == "json", show_all=show_all, out=out, detailed_exit=detailed_exit,
        jobs=list(jobs), state=state, log_format=log_format, markdown=fmt == "markdown",
    )))


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Plan and report, change nothing.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None, help="Override every job's concurrency.")
@click.option("--report", "report_path", type=click.Path(path_type=Path), default=None, help="Write the run report as JSON.")
@click.option("--plan", "plan_file", type=click.Path(path_type=Path), default=None, help="Run exactly a saved plan (`plan -o`).")
@click.option("--shard", default=None, metavar="I/N", help="Run only the actions whose key hashes to shard I of N (0 <= I < N).")
@click.option("--max-duration", default=None, metavar="DURATION", help="Stop cleanly after this long (e.g. 30m).")
@click.option("--max-bytes", default=None, metavar="SIZE", help="Stop cleanly after sending this much (e.g. 10GiB).")
@click.option("--metrics-file", type=click.Path(path_type=Path), default=None,
              help="Write Prometheus metrics here at the end of every run, also a failed one (textfile collector).")
@click.option("--pushgateway", default=None, metavar="URL",
              help="Push Prometheus metrics to this Pushgateway (job=kodo-jobs, manifest=<file stem>).")
@click.option("--progress-interval", type=click.FloatRange(min=0), default=30.0, show_default=True, metavar="SECONDS",
              help="When stderr is not a terminal, one progress line this often (0: none).")
@_job_option
@_state_option
@_log_option
def run(manifest: Path, dry_run: bool, concurrency: int | None, report_path: Path | None,
        plan_file: Path | None, shard: str | None, max_duration: str | None, max_bytes: str | None,
        metrics_file: Path | None, pushgateway: str | None, progress_interval: float,
        jobs: tuple[str, ...], state: Path | None, log_format: str) -> None:
    """Carry out the manifest: plan, execute with retries and a checkpoint, report."""
    import kodo_jobs.commands.run as cmd
    from kodo_jobs.pipeline.run_extras import RunExtras
    _start_up_done()

    # issue 17 wiring (4/4): metrics, progress lines and notify see every run, however it ends
    extras = RunExtras.from_options(manifest, metrics_file=metrics_file, pushgateway=pushgateway,
                                    progress_interval=progress_interval, log_format=log_format, shard=shard)
    sys.exit(boundary(lambda: cmd.run(
        manifest, dry_run=dry_run, concurrency=concurrency, report_path=report_path,
        plan_file=plan_file, shard=shard, max_duration=max_duration, max_bytes=max_bytes,
        jobs=list(jobs), state=state, log_format=log_format, extras=extras,
    ), after=extras.finish))


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--debounce", default="2s", show_default=True, metavar="DURATION",
              help="Wait this long after the last event (and for a file to be quiet) before a batch.")
@click.option("--full-every", default="1h", show_default=True, metavar="DURATION",
              help="Re-plan every watched job in full this often (events can be lost).")
@click.option("--delete-window", default="1h", show_default=True, metavar="DURATION",
              help="max_delete also limits the deletes made over this rolling window.")
@click.option("--polling", is_flag=True, help="Poll the folders instead of native events (network file systems).")
@click.option("--metrics-file", type=click.Path(path_type=Path), default=None,
              help="Write Prometheus metrics of the last batch here after every batch (textfile collector).")
@click.option("--pushgateway", default=None, metavar="URL",
              help="Push Prometheus metrics of the last batch to this Pushgateway after every batch.")
@_job_option
@_state_option
@_log_option
def watch(manifest: Path, debounce: str, full_every: str, delete_window: str, polling: bool,
          metrics_file: Path | None, pushgateway: str | None,
          jobs: tuple[str, ...], state: Path | None, log_format: str) -> None:
    """Run the upload syncs once, then keep the bucket in step with file-system events."""
    import kodo_jobs.commands.watch as cmd
    _start_up_done()

    sys.exit(boundary(lambda: cmd.watch(
        manifest, jobs=list(jobs), state=state, debounce=debounce, full_every=full_every,
        delete_window=delete_window, polling=polling, log_format=log_format,
        metrics_file=metrics_file, pushgateway=pushgateway,
    )))


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("manifest", type=click.Path(path_type=Path))
@_state_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--shard", default=None, metavar="I/N",
              help="Show only shard I of N (without it, shard state files beside the state file are shown together).")
def status(manifest: Path, state: Path | None, as_json: bool, shard: str | None) -> None:
    """Show what the last run did and what is unfinished."""
    import kodo_jobs.commands.status as cmd
    _start_up_done()

    sys.exit(boundary(lambda: cmd.status(manifest, state=state, as_json=as_json, shard=shard)))


@cli.group(epilog=EXIT_CODES_HELP)
def report() -> None:
    """Work with run reports (`run --report PATH`)."""


@report.command("merge", epilog=EXIT_CODES_HELP)
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Write the merged report here.")
def report_merge(reports: tuple[Path, ...], out: Path) -> None:
    """Merge the reports of the shards of one run (`run --shard I/N --report rI.json`) into one."""
    import kodo_jobs.commands.report_merge as cmd
    _start_up_done()

    sys.exit(boundary(lambda: cmd.merge(list(reports), out)))


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default; the admin routes answer loopback only).")
@click.option("--port", type=click.IntRange(0, 65535), default=9400, show_default=True, help="0 picks a free port.")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=Path(".kodo-emulator"), show_default=True,
              help="Folder for the SQLite metadata and object files; kept across restarts.")
@click.option("--access-key", default="kodo-jobs-ak", show_default=True,
              help="The one AccessKey the emulator accepts in signatures and upload tokens.")
@click.option("--secret-key", default="kodo-jobs-sk", show_default=True,
              help="The SecretKey paired with --access-key.")
@click.option("--bucket", "buckets", multiple=True, metavar="NAME[:private][:accelerate][@REGION]",
              help="Create this bucket (repeatable); region z0 unless named.")
@click.option("--domain", "domains", multiple=True, metavar="BUCKET=HOST",
              help="A domain serving BUCKET's objects (repeatable; used in proxy mode).")
@click.option("--fault-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Share of requests answered with an injected fault (503/599/573, a reset or a slow answer).")
@click.option("--fault-seed", type=int, default=0, show_default=True,
              help="Seed of the fault sequence, so a faulty run can be repeated exactly.")
@click.option("--anti-leech-key", default=None, help="Timestamp anti-leech key for /dl downloads.")
@click.option("--proxy-port", type=click.IntRange(0, 65535), default=None,
              help="Also serve a forward proxy for Kodo's real host names on this port (0 picks one).")
@click.option("--latency", default="0", show_default=True, metavar="DURATION",
              help="Delay before every answer, e.g. 30ms (a link to a distant region).")
def emulator(host: str, port: int, data_dir: Path, access_key: str, secret_key: str,
             buckets: tuple[str, ...], domains: tuple[str, ...], fault_rate: float, fault_seed: int,
             anti_leech_key: str | None, proxy_port: int | None, latency: str) -> None:
    """Run the local Kodo-compatible emulator until SIGINT/SIGTERM."""
    import kodo_jobs.commands.emulator as cmd
    _start_up_done()

    sys.exit(boundary(lambda: cmd.emulator(
        host=host, port=port, data_dir=data_dir, access_key=access_key, secret_key=secret_key,
        buckets=list(buckets), fault_rate=fault_rate, fault_seed=fault_seed, anti_leech_key=anti_leech_key,
        domains=list(domains), proxy_port=proxy_port, latency=latency,
    )))


class _CollectorPause:
    """The cyclic garbage collector, off for the start-up of one CLI process.

    What start-up allocates (modules, classes, the manifest models' validators) lives until the
    process exits, so collecting while it is built only walks those objects again and again to
    find nothing to free. :func:`main` pauses the collector; once the command's modules are
    imported, :meth:`end` sets everything allocated so far aside for good (``gc.freeze()``, the
    pattern the :mod:`gc` documentation gives) and turns the collector back on, so later
    collections walk only what the command itself allocates. The cost with and without it is in
    docs/bench.md ("Start-up").
    """

    def __init__(self) -> None:
        self.paused = gc.isenabled()
        if self.paused:
            gc.disable()

    def end(self, *, freeze: bool = True) -> None:
        """Collect normally again (once); ``freeze``: set today's objects aside first."""
        if self.paused:
            self.paused = False
            if freeze:
                gc.freeze()
            gc.enable()


def _start_up_done() -> None:
    """The command's modules are imported: end the collector pause of :func:`main`, if any.

    Commands invoked otherwise (click's test runner) find no pause and change nothing."""
    pause = click.get_current_context().find_root().obj
    if isinstance(pause, _CollectorPause):
        pause.end()


def main() -> None:
    """Console-script entry point (``kodo-jobs`` and ``python -m kodo_jobs``)."""
    pause = _CollectorPause()
    try:
        cli(prog_name="kodo-jobs", obj=pause)
    finally:  # --help, --version and usage errors end before any command ran
        pause.end(freeze=False)
