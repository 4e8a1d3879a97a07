"""The local walk (kodo_jobs.jobs.sync.walk) and its gitignore-style filters (kodo_jobs.jobs.sync.filters)."""

from __future__ import annotations

import contextlib
import os
import unicodedata
from pathlib import Path

import pytest

from kodo_jobs.jobs.sync.filters import PathFilter, PatternError
from kodo_jobs.jobs.sync.walk import Filtered, LocalFile, SourceMissing, WalkError, readable, walk


def _make(root: Path, files: dict[str, bytes | str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)


def _keys(records: list[object], kind: type = LocalFile) -> list[str]:
    return [r.key for r in records if isinstance(r, kind)]  # type: ignore[attr-defined]


def test_walk_yields_keys_in_utf8_byte_order(tmp_path: Path) -> None:
    names = ["a/x", "a-b", "a.c", "a0", "ab", "b!", "b/c/d", "é", "日本/語", "😀", "Z", " space", "#h", "%p", "?q"]
    _make(tmp_path, {n: n for n in names})
    records = list(walk(str(tmp_path)))
    keys = _keys(records)
    assert keys == sorted(names, key=lambda k: k.encode("utf-8"))
    assert len(keys) == len(names)


def test_walk_records_carry_path_size_mtime_and_prefix(tmp_path: Path) -> None:
    _make(tmp_path, {"d/f.txt": "hello", "empty": b""})
    records = list(walk(str(tmp_path), prefix="site/"))
    by_key = {r.key: r for r in records if isinstance(r, LocalFile)}
    assert set(by_key) == {"site/d/f.txt", "site/empty"}
    f = by_key["site/d/f.txt"]
    assert f.path == str(tmp_path / "d" / "f.txt")
    assert f.size == 5
    assert f.mtime_ns == os.stat(f.path).st_mtime_ns
    assert by_key["site/empty"].size == 0


def test_keys_are_nfc_normalised(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "café.txt")
    assert nfd != "café.txt"
    _make(tmp_path, {nfd: "x"})
    assert _keys(list(walk(str(tmp_path)))) == ["café.txt"]


def test_two_names_with_the_same_nfc_form_give_one_error(tmp_path: Path) -> None:
    _make(tmp_path, {"café": "1", unicodedata.normalize("NFD", "café"): "2"})
    records = list(walk(str(tmp_path)))
    assert _keys(records) == ["café"]
    errors = [r for r in records if isinstance(r, WalkError)]
    assert len(errors) == 1 and "NFC" in errors[0].message


def test_missing_source_raises(tmp_path: Path) -> None:
    with pytest.raises(SourceMissing, match="does not exist"):
        list(walk(str(tmp_path / "nope")))
    (tmp_path / "file").write_text("x")
    with pytest.raises(SourceMissing, match="not a directory"):
        list(walk(str(tmp_path / "file")))


def test_symlinks_are_skipped_unless_followed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _make(src, {"real/f": "x", "g": "y"})
    (src / "link-file").symlink_to(src / "g")
    (src / "link-dir").symlink_to(src / "real")
    (src / "broken").symlink_to(src / "missing")
    records = list(walk(str(src)))
    assert _keys(records) == ["g", "real/f"]
    assert sorted((r.key, r.reason) for r in records if isinstance(r, Filtered)) == [
        ("broken", "symlink"), ("link-dir", "symlink"), ("link-file", "symlink"),
    ]
    followed = list(walk(str(src), follow_symlinks=True))
    assert _keys(followed) == ["g", "link-dir/f", "link-file", "real/f"]
    assert [r.key for r in followed if isinstance(r, WalkError)] == ["broken"]


def test_symlink_loop_is_an_error_not_a_hang(tmp_path: Path) -> None:
    _make(tmp_path, {"d/f": "x"})
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    records = list(walk(str(tmp_path), follow_symlinks=True))
    assert _keys(records) == ["d/f"]
    errors = [r for r in records if isinstance(r, WalkError)]
    assert [(e.key, e.subtree) for e in errors] == [("d/loop/", True)]


def test_unreadable_dir_and_file_are_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _make(tmp_path, {"locked/f": "x", "secret": "s", "ok": "o"})
    if os.geteuid() == 0:  # root reads everything: make the OS say no instead
        real_scandir = os.scandir

        def scandir(path: str) -> object:
            if os.path.basename(path) == "locked":
                raise PermissionError(13, "Permission denied")
            return real_scandir(path)

        monkeypatch.setattr("kodo_jobs.jobs.sync.walk.os.scandir", scandir)
        monkeypatch.setattr("kodo_jobs.jobs.sync.walk.process_identity", lambda: (12345, frozenset({12345})))
    os.chmod(tmp_path / "locked", 0)
    os.chmod(tmp_path / "secret", 0)
    try:
        records = list(walk(str(tmp_path), prefix="p/"))
    finally:
        os.chmod(tmp_path / "locked", 0o755)
        os.chmod(tmp_path / "secret", 0o644)
    assert _keys(records) == ["p/ok"]
    errors = {r.key: r for r in records if isinstance(r, WalkError)}
    assert set(errors) == {"p/locked/", "p/secret"}
    assert errors["p/locked/"].subtree is True
    assert errors["p/secret"].subtree is False


def test_undecodable_name_is_an_unordered_error(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xff")
    try:
        (tmp_path / name).write_text("x")
    except (OSError, UnicodeEncodeError):
        pytest.skip("file system refuses non-UTF-8 names")
    _make(tmp_path, {"good": "g"})
    records = list(walk(str(tmp_path)))
    assert _keys(records) == ["good"]
    errors = [r for r in records if isinstance(r, WalkError)]
    assert len(errors) == 1 and errors[0].ordered is False


def test_special_files_are_filtered(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    _make(tmp_path, {"f": "x"})
    records = list(walk(str(tmp_path)))
    assert [(r.key, r.reason) for r in records if isinstance(r, Filtered)] == [("fifo", "special file")]


def test_walk_applies_filters_and_prunes_excluded_dirs(tmp_path: Path) -> None:
    _make(tmp_path, {
        "a.txt": "", "a.tmp": "", "sub/b.tmp": "", "sub/c.jpg": "", "node_modules/x/y.js": "",
        "build/out": "", "deep/build/out": "", ".DS_Store": "", "img/.DS_Store": "",
    })
    filt = PathFilter(exclude=["*.tmp", "node_modules/", "/build", "**/.DS_Store"])
    records = list(walk(str(tmp_path), path_filter=filt))
    assert _keys(records) == ["a.txt", "deep/build/out", "sub/c.jpg"]
    # excluded files are reported; excluded directories are not entered
    assert _keys(records, Filtered) == [".DS_Store", "a.tmp", "img/.DS_Store", "sub/b.tmp"]


_REAL_SCANDIR = os.scandir


class _CountingScandir:
    """os.scandir for the walk module that counts the directories listed and the entries seen."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.dirs: list[str] = []
        self.entries = 0

    def __call__(self, path: str) -> contextlib.nullcontext[list[os.DirEntry[str]]]:
        self.dirs.append(os.path.relpath(path, self.root))
        with _REAL_SCANDIR(path) as it:
            entries = list(it)
        self.entries += len(entries)
        return contextlib.nullcontext(entries)


def _tops_tree(root: Path, tops: int = 10, subs: int = 3, files: int = 4) -> int:
    """``aTT/sS/fN.bin`` files (like bench/trees.tiny_files); returns how many."""
    for t in range(tops):
        for s in range(subs):
            _make(root, {f"a{t:02d}/s{s}/f{n}.bin": "x" for n in range(files)})
    return tops * subs * files


def test_include_prunes_directories_it_cannot_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    total = _tops_tree(tmp_path)
    counting = _CountingScandir(tmp_path)
    monkeypatch.setattr("kodo_jobs.jobs.sync.walk.os.scandir", counting)
    filt = PathFilter(include=["a00*/**", "a01*/**"])
    records = list(walk(str(tmp_path), path_filter=filt))
    assert len(_keys(records)) == total // 5  # 2 of 10 top folders
    assert all(k.startswith(("a00/", "a01/")) for k in _keys(records))
    assert not [r for r in records if isinstance(r, Filtered)]  # nothing below a pruned folder is seen
    # listed: the root, a00 and a01 and their 3 sub-folders each; never a02..a09
    assert sorted(counting.dirs) == [".", "a00", *(f"a00/s{s}" for s in range(3)),
                                     "a01", *(f"a01/s{s}" for s in range(3))]
    assert counting.entries == 10 + 2 * (3 + 3 * 4)

    unpruned = _CountingScandir(tmp_path)
    monkeypatch.setattr("kodo_jobs.jobs.sync.walk.os.scandir", unpruned)
    monkeypatch.setattr(PathFilter, "dir_pruned", PathFilter.dir_excluded)  # the walk before pruning
    full = list(walk(str(tmp_path), path_filter=PathFilter(include=["a00*/**", "a01*/**"])))
    assert unpruned.entries == 10 + 10 * (3 + 3 * 4)  # the test can tell the difference
    assert _keys(full) == _keys(records)
    assert len(_keys(full, Filtered)) == total - total // 5


@pytest.mark.parametrize(("include", "exclude", "entered"), [
    (["/a01/s1/"], [], [".", "a01", "a01/s1"]),  # anchored, directory-only
    (["a0[01]/**", "!a00/**"], [], [".", "a00", "a00/s0", "a00/s1", "a01", "a01/s0", "a01/s1"]),  # a negation opens nothing
    (["**/s1/*.bin"], [], [".", "a00", "a00/s0", "a00/s1", "a01", "a01/s0", "a01/s1"]),  # "**" first: any depth
    (["a01/**/f1.bin"], [], [".", "a01", "a01/s0", "a01/s1"]),
    (["f1.bin"], [], [".", "a00", "a00/s0", "a00/s1", "a01", "a01/s0", "a01/s1"]),  # no "/": prunes nothing
    (["a0*/s0/"], ["a01/"], [".", "a00", "a00/s0"]),  # exclude prunes too
])
def test_prune_enters_only_what_can_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, include: list[str],
                                          exclude: list[str], entered: list[str]) -> None:
    _tops_tree(tmp_path, tops=2, subs=2, files=2)
    counting = _CountingScandir(tmp_path)
    monkeypatch.setattr("kodo_jobs.jobs.sync.walk.os.scandir", counting)
    walked = {r.key for r in walk(str(tmp_path), path_filter=PathFilter(include, exclude)) if isinstance(r, LocalFile)}
    assert sorted(counting.dirs) == entered
    every = [f"a{t:02d}/s{s}/f{n}.bin" for t in range(2) for s in range(2) for n in range(2)]
    assert walked == {k for k in every if PathFilter(include, exclude).selects(k)}


# -- the patterns themselves ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("include", "exclude", "path", "selected"),
    [
        ([], [], "a/b/c", True),
        ([], ["*.tmp"], "x.tmp", False),
        ([], ["*.tmp"], "a/b/x.tmp", False),
        ([], ["*.tmp"], "x.tmpl", True),
        ([], ["/top.txt"], "top.txt", False),
        ([], ["/top.txt"], "a/top.txt", True),
        ([], ["docs/*.md"], "docs/a.md", False),
        ([], ["docs/*.md"], "docs/sub/a.md", True),  # "*" stops at "/"
        ([], ["docs/**/*.md"], "docs/sub/a.md", False),
        ([], ["docs/**/*.md"], "docs/a.md", False),  # "**/" matches zero directories
        ([], ["**/cache"], "a/b/cache/f", False),
        ([], ["logs/**"], "logs/x/y", False),
        ([], ["logs/**"], "logsx/y", True),
        ([], ["cache/"], "a/cache/f", False),  # directory-only pattern, any depth
        ([], ["cache/"], "a/cache", True),  # ...does not match a file named cache
        ([], ["?.txt"], "a.txt", False),
        ([], ["?.txt"], "ab.txt", True),
        ([], ["[ab].txt"], "b.txt", False),
        ([], ["[!ab].txt"], "b.txt", True),
        ([], ["[!ab].txt"], "c.txt", False),
        ([], ["[a-c]*"], "b/z", False),
        ([], ["*.log", "!keep.log"], "keep.log", True),
        ([], ["*.log", "!keep.log"], "x.log", False),
        ([], ["secret/", "!secret/ok"], "secret/ok", False),  # a parent excluded: no re-include
        ([], ["a b#c%d?.txt"], "a b#c%d?.txt", False),  # literal odd characters
        ([], ["a+b(c).txt"], "a+b(c).txt", False),  # regex metacharacters are literal
        (["*.jpg"], [], "x/y.jpg", True),
        (["*.jpg"], [], "x/y.png", False),
        (["images/"], [], "images/a/b.png", True),
        # as in git: nothing below a matched directory is unmatched again; exclude it instead
        (["images/", "!images/raw/"], [], "images/raw/b.png", True),
        (["images/"], ["images/raw/"], "images/raw/b.png", False),
        ([], ["[abc"], "[abc", True),  # an unclosed class matches nothing (git discards it)
        ([], ["a**b"], "a/x/b", True),  # "**" inside a segment is "*": never across "/"
        ([], ["x[/]y"], "x/y", True),  # a class never matches "/"
        (["*.jpg"], ["tmp/"], "tmp/a.jpg", False),  # exclude beats include
        (["/only/**"], [], "only/a", True),
        (["/only/**"], [], "x/only/a", False),
    ],
)
def test_filter_table(include: list[str], exclude: list[str], path: str, selected: bool) -> None:
    assert PathFilter(include, exclude).selects(path) is selected


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "readable_"),
    [
        (0o400, 1000, 50, True), (0o040, 1000, 50, False), (0o040, 7, 50, True), (0o004, 7, 8, True),
        (0o000, 7, 8, False), (0o440, 7, 8, False), (0o000, 1000, 50, False),
    ],
)
def test_readable_from_mode_bits(mode: int, uid: int, gid: int, readable_: bool) -> None:
    st = os.stat_result((mode | 0o100000, 0, 0, 1, uid, gid, 0, 0, 0, 0))
    assert readable(st, 1000, frozenset({50, 60})) is readable_
    assert readable(st, 0, frozenset()) is True  # root reads everything


def test_bad_pattern_raises() -> None:
    with pytest.raises(PatternError, match="empty"):
        PathFilter(exclude=["/"])
    with pytest.raises(PatternError, match="empty"):
        PathFilter(include=["!"])
    with pytest.raises(PatternError, match="comment"):
        PathFilter(exclude=["#notes"])
    with pytest.raises(PatternError, match="z-a"):
        PathFilter(exclude=["[z-a]"])
    assert not PathFilter(exclude=["\\#notes"]).selects("#notes")
