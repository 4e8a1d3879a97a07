"""``plan --format markdown`` (issue 17 part 2): a plan as a pull-request comment.

Hostile keys are rendered and the result parsed by a real CommonMark parser with GFM tables
(markdown-it-py): no table breaks, no tag other than the ones the renderer writes, every key
shown literally in a code element. 100k actions stay under GitHub's 65,536-character limit and
say how much was folded. Every job kind renders from a real plan against the emulator."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from kodo_jobs.actions import Action
from kodo_jobs.kodo.client import KodoClient
from kodo_jobs.pipeline.plan_markdown import LIMIT, code, markdown
from kodo_jobs.pipeline.plan_render import JobPlan, Plan, summarise
from kodo_jobs.textsafe import escape_text
from tests.e2e.sync_helpers import AK, BUCKET, SK, cli, make_tree, serve, write_manifest

HOSTILE = [
    "a|b|c", "`tick`", "``two`` ticks", "`", "<script>alert(1)</script>", "[x](https://evil.example/)",
    "![img](https://evil.example/i.png)", "line1\nline2 | forged | row |", "</details><img src=x onerror=alert(1)>",
    "**bold** _it_ ~~s~~", "<!-- open comment", "https://evil.example/ and www.evil.example", "back\\slash\\",
    " spaced ", "| --- | --- |", "&amp; &lt;b&gt;", "\u202eexe.txt", "# heading", "> quote", "- item", "1. item",
]
ALLOWED_TAGS = {"h3", "h4", "p", "strong", "code", "table", "thead", "tbody", "tr", "th", "td", "details", "summary",
                "ul", "li", "hr", "sub", "blockquote"}


class _Html(HTMLParser):
    """Collects tags, the text of each <code>, and the cells of each table row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.codes: list[str] = []
        self.rows: list[int] = []
        self.comments: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "tr":
            self.rows.append(0)
        elif tag in ("td", "th"):
            self.rows[-1] += 1
        elif tag == "code":
            self._in_code = True
            self.codes.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self.codes[-1] += data

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _parse(text: str) -> _Html:
    page = MarkdownIt("commonmark").enable("table").render(text)
    parsed = _Html()
    parsed.feed(page)
    return parsed


def _plan(actions: list[Action], jobs: list[tuple[str, str]], sha: str = "ab" * 32) -> Plan:
    plans = tuple(JobPlan(name, kind, summarise([a for a in actions if a.job == name])) for name, kind in jobs)
    return Plan("m.yaml", plans, lambda: iter(actions), manifest_sha=sha)


def test_hostile_keys_cannot_break_the_table_or_inject_markup() -> None:
    job = "job|`x`<b>[l](https://evil.example)"
    actions = [Action(job, op, key, 10) for key in HOSTILE for op in ("upload", "delete")]
    actions.append(Action(job, "we|ird`op<i>", "k", 1))
    text = markdown(_plan(actions, [(job, "sync")]))
    parsed = _parse(text)
    assert parsed.tags <= ALLOWED_TAGS, parsed.tags - ALLOWED_TAGS
    assert not parsed.comments
    assert parsed.rows and all(n == 3 for n in parsed.rows), parsed.rows  # op | count | bytes, every row
    for key in HOSTILE:  # each key shown literally (control/bidi characters made visible)
        assert parsed.codes.count(escape_text(key)) == 2, key  # once under upload, once under delete
    assert escape_text(job) in parsed.codes
    assert "we|ird`op<i>" in parsed.codes  # in a table cell: the \| is the table's, the text is exact


def test_destructive_ops_come_first() -> None:
    actions = [Action("j", "upload", f"u{i}", 1) for i in range(3)] + [Action("j", "delete", "gone", 1)]
    text = markdown(_plan(actions, [("j", "sync")]))
    assert text.index("[!WARNING]") < text.index("#### Job")
    assert "**Destructive:** 1 `delete`" in text
    table = text[text.index("| op |"):]
    assert table.index("`delete`") < table.index("`upload`")
    assert text.index("j: delete") < text.index("j: upload")


def test_100k_actions_stay_under_the_comment_limit_and_say_what_was_folded() -> None:
    n = 100_000
    actions = [Action("big", ("upload", "update", "delete")[i % 3], f"folder/{i:06d}/" + "x" * 80, 1000)
               for i in range(n)]
    plan = _plan(actions, [("big", "sync")])
    text = markdown(plan)
    assert len(text) < LIMIT
    assert "first 50 of 33,334" in text and "100,000 change(s)" in text
    unlimited = markdown(plan, per_op=n)  # list everything: the size limit folds it
    assert len(unlimited) < LIMIT
    listed = unlimited.count("\n- `")
    assert 100 < listed < n
    assert f"**Folded:** {n - listed:,} more action(s)" in unlimited
    assert f"{listed:,} action(s) listed" in unlimited


def test_thousands_of_jobs_fold_their_tables() -> None:
    jobs = [(f"job-{i:05d}-" + "n" * 60, "batch") for i in range(5000)]
    actions = [Action(name, "delete", "k", 1) for name, _ in jobs]
    text = markdown(_plan(actions, jobs))
    assert len(text) < LIMIT
    assert "5000 job tables folded" in text and "**Destructive:** 5,000 `delete`" in text
    assert "and 4,980 more job(s) with destructive ops" in text


@pytest.mark.parametrize(("text", "want"), [("a", "`a`"), ("a`b", "``a`b``"), ("`a", "`` `a ``"), (" a ", "`  a  `"),
                                            ("a|b", "`a|b`")])
def test_code_span_fences(text: str, want: str) -> None:
    assert code(text) == want
    assert code("a|b", cell=True) == "`a\\|b`"


def _seed(url: str, *keys: str) -> None:
    with KodoClient.for_endpoint(url, AK, SK) as c:
        for key in keys:
            c.upload.upload_bytes(BUCKET, key, f"body of {key}".encode())


def test_every_job_kind_renders_from_a_real_plan(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", {"index.html": "<h1>hi</h1>", "a|b.txt": "pipe"})
    with serve(tmp_path / "emu") as emu:
        _seed(emu.url, "tmp/old.txt", "video/a.mp4", "stale|key.txt")
        m = write_manifest(
            tmp_path, emu.url,
            {"name": "site", "kind": "sync", "source": "./src", "bucket": BUCKET, "prefix": "",
             "exclude": ["tmp/**", "video/**"], "delete": True, "max_delete": 10},
            {"name": "tidy", "kind": "batch", "bucket": BUCKET, "keys": ["tmp/old.txt"], "op": {"delete": {}}},
            {"name": "import", "kind": "fetch", "bucket": BUCKET, "urls": [f"{emu.url}/dl/{BUCKET}/tmp/old.txt"]},
            {"name": "thumbs", "kind": "pfop", "bucket": BUCKET, "keys": ["video/a.mp4"], "fops": ["avinfo"]},
            {"name": "purge", "kind": "cdn", "refresh_urls": ["https://cdn.example.com/index.html"]},
        )
        res = cli("plan", m, "--format", "markdown", "--exit-code")
        as_json = cli("plan", m, "--format", "json")
        alias = cli("plan", m, "--json")
        both = cli("plan", m, "--json", "--format", "markdown")
    assert res.code == 4, res.err  # --exit-code: there are changes
    for name, kind in (("site", "sync"), ("tidy", "batch"), ("import", "fetch"), ("thumbs", "pfop"), ("purge", "cdn")):
        assert f"#### Job `{name}` (`{kind}`)" in res.out, name
    parsed = _parse(res.out)
    assert parsed.tags <= ALLOWED_TAGS
    assert all(n == 3 for n in parsed.rows)
    assert {"a|b.txt", "stale|key.txt", "index.html"} <= set(parsed.codes)
    assert "[!WARNING]" in res.out and "manifest sha256" in res.out
    assert as_json.code == 0 and alias.code == 0 and as_json.json()["summary"] == alias.json()["summary"]
    assert both.code == 2 and "contradict" in both.err
    assert html.escape("<h1>") not in res.out  # file contents never reach the plan
