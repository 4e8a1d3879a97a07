"""The sync's include/exclude patterns judged against ``git check-ignore`` itself.

A seeded generator writes pattern lists (negation, anchoring, ``**``, dir-only, character
classes, odd mixes such as ``a**b`` and ``x[/]y``) into a real git work tree's ``.gitignore``
and asks git which files of a fixed tree are ignored. Four views of kodo-jobs must agree with
git on every file: the exclude list (:meth:`PathFilter.selects`, used for remote keys), the
walk (which prunes excluded directories), and the include list, which selects exactly the
files git would ignore under a ``.gitignore`` holding that list, both judged per path and by
the walk, which does not enter directories no include pattern can match.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kodo_jobs.jobs.sync.filters import PathFilter
from kodo_jobs.jobs.sync.walk import Filtered, LocalFile, walk

SEED = 20261203
SETS = 160
"""Pattern lists generated; each is judged on every file of the tree (65 files)."""

_DIRS = ("a", "b", "ab", "d")
_FILES = ("x.txt", "y.md", "ab.c", "foo", "c")
_ATOMS = ("a", "b", "ab", "d", "c", "foo", "*", "?", "x.txt", "*.txt", "*.md", "[ab]", "[!a]", "[a-c]",
          "**", "a*", "*b", "a**b", "a?", "?b", "[xy].*", "*.[cm]*", "x[/]y", "\\*")



def _tree_files() -> list[str]:
    files = list(_FILES)
    for d in _DIRS:
        files += [f"{d}/{f}" for f in _FILES]
        for sub in ("a", "b"):
            files += [f"{d}/{sub}/{f}" for f in _FILES]
    return sorted(files)


def _pattern(rng: random.Random, first: bool) -> str:
    text = "/".join(rng.choice(_ATOMS) for _ in range(rng.choice((1, 1, 2, 2, 3))))
    if rng.random() < 0.25:
        text = "/" + text
    if rng.random() < 0.25:
        text += "/"
    if not first and rng.random() < 0.35:
        text = "!" + text
    return text


def _pattern_sets() -> Iterator[list[str]]:
    rng = random.Random(SEED)
    for _ in range(SETS):
        n = rng.choice((1, 2, 2, 3, 4))
        yield [_pattern(rng, i == 0) for i in range(n)]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gitrepo")
    for f in _tree_files():
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text(f)
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=_git_env(root))
    return root


def _git_env(root: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}


def git_ignored(repo: Path, patterns: list[str], paths: list[str]) -> set[str]:
    """The ``paths`` that ``git check-ignore`` says ``patterns`` (as a .gitignore) ignore."""
    (repo / ".gitignore").write_text("".join(p + "\n" for p in patterns))
    proc = subprocess.run(["git", "-c", "core.excludesFile=" + os.devnull, "check-ignore", "--no-index", "--stdin",
                           "-z"], cwd=repo, input="\0".join(paths) + "\0", capture_output=True, text=True,
                          env=_git_env(repo))
    assert proc.returncode in (0, 1), proc.stderr
    return {p for p in proc.stdout.split("\0") if p}


def test_generated_patterns_agree_with_git_check_ignore(repo: Path) -> None:
    files = _tree_files()
    pairs = pruned = 0
    mismatches: list[str] = []
    for patterns in _pattern_sets():
        ignored = git_ignored(repo, patterns, files)
        excl = PathFilter(exclude=patterns)
        incl = PathFilter(include=patterns)
        walked = {r.key: isinstance(r, LocalFile) for r in walk(str(repo), path_filter=excl)
                  if isinstance(r, LocalFile | Filtered)}
        included = {r.key for r in walk(str(repo), path_filter=incl) if isinstance(r, LocalFile)}
        pruned += sum(1 for d in _DIRS if incl.dir_pruned(d))
        for f in files:
            pairs += 1
            want = f in ignored
            views = {"exclude": not excl.selects(f), "include": incl.selects(f),
                     "walk": not walked.get(f, False), "include walk (pruned)": f in included}
            wrong = [name for name, got in views.items() if got != want]
            if wrong:
                mismatches.append(f"{patterns!r} {f}: git ignored={want}, wrong: {wrong}")
    assert pairs >= 500
    assert pruned >= 20  # the include walk did skip directories, and still agreed with git
    assert not mismatches, f"{len(mismatches)} of {pairs} disagree, e.g.:\n" + "\n".join(mismatches[:15])


@pytest.mark.parametrize(("patterns", "path"), [
    (["a**b"], "a/b/c"),  # "**" not between slashes is a plain "*": never across "/"
    (["x[/]y"], "x/y"),  # a class never matches "/" (and is not an error)
    (["secret/", "!secret/ok"], "secret/ok"),  # below an excluded directory nothing is re-included
    (["a[!x]c"], "a/c"),  # a negated class never matches the "/" between two segments
    (["a/[!x]"], "a/c"),
    (["*[!z]c"], "d/c"),
    (["d/a*/", "a/**/"], "a/c"),  # "a/**/" matches directories inside a, not a itself
    (["a*/b", "*.[cm]*", "!a"], "a/b/c"),  # "!a" does not undo a/b's own match
])
def test_issue_examples_match_git(repo: Path, patterns: list[str], path: str) -> None:
    want = path in git_ignored(repo, patterns, [path])
    assert (not PathFilter(exclude=patterns).selects(path)) is want
