"""The hash cache (and, in the first test, upload sessions surviving a reopen) and its pruning."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kodo_jobs.executor.checkpoint import Checkpoint, ReadThroughState


def test_hash_cache_and_uploads(tmp_path: Path) -> None:
    p = tmp_path / "s"
    with Checkpoint(p) as cp:
        cp.remember_etag("/a", 3, 111, "Fxyz")
        cp.save_upload("j\x1fupload\x1fk", '{"parts": []}')
        assert cp.etag_for("/a", 3, 111) == "Fxyz"
        assert cp.etag_for("/a", 3, 112) is None
    with Checkpoint(p) as cp:
        assert cp.etag_for("/a", 3, 111) == "Fxyz"
        assert cp.load_upload("j\x1fupload\x1fk") == '{"parts": []}'
        cp.drop_upload("j\x1fupload\x1fk")
        assert cp.load_upload("j\x1fupload\x1fk") is None


def _keys(cp: Checkpoint) -> list[str]:
    return [str(r[0]) for r in cp._db.execute("SELECT path FROM hash_cache ORDER BY path")]


def test_prune_drops_the_unwalked_rows_under_the_folder_only(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "s") as cp:
        for path in ["/d/a/1", "/d/a/2", "/d/a/sub/3", "/d/a/gone", "/d/a/sub/gone",
                     "/d/ab/x", "/d/a0", "/d/a", "/e/a/1",  # outside /d/a (a sibling, a prefix, the folder itself)
                     "/d/a/2\0v2:1048576", "/d/a/gone\0v2:1048576"]:  # v2 keys follow their file
            cp.remember_etag(path, 1, 1, "F")
        walked = ["/d/a/1", "/d/a/2", "/d/a/sub/3", "/d/ab/x", "/elsewhere"]
        assert cp.prune_hash_cache("/d/a", iter(walked), 3) == 3
        assert _keys(cp) == sorted(["/d/a/1", "/d/a/2", "/d/a/2\0v2:1048576", "/d/a/sub/3",
                                    "/d/ab/x", "/d/a0", "/d/a", "/e/a/1"])
        # a trailing separator means the same folder; four rows for three files makes it look
        # again, and the v2 key of a walked file stays
        assert cp.prune_hash_cache("/d/a/", iter(walked), 3) == 0
        assert "/d/a/2\0v2:1048576" in _keys(cp)


def test_prune_takes_folder_names_literally(tmp_path: Path) -> None:
    """``%`` and ``_`` are not wildcards: no ``LIKE``."""
    with Checkpoint(tmp_path / "s") as cp:
        for path in ["/d/100%_x/keep", "/d/100%_x/gone", "/d/100ab_x/other", "/d/100%_xy/other"]:
            cp.remember_etag(path, 1, 1, "F")
        assert cp.prune_hash_cache("/d/100%_x", ["/d/100%_x/keep"], 1) == 1
        assert _keys(cp) == ["/d/100%_x/keep", "/d/100%_xy/other", "/d/100ab_x/other"]


def test_prune_of_the_root_folder(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "s") as cp:
        for path in ["/a", "/b/c", "/b/d"]:
            cp.remember_etag(path, 1, 1, "F")
        assert cp.prune_hash_cache("/", ["/b/c"], 1) == 2
        assert _keys(cp) == ["/b/c"]


def test_prune_in_the_steady_state_reads_no_walked_path(tmp_path: Path) -> None:
    """As many rows as walked files (or fewer): one count, and ``walked`` is never iterated."""
    def untouchable() -> Iterator[str]:
        raise AssertionError("walked paths were read")
        yield ""

    with Checkpoint(tmp_path / "s") as cp:
        for i in range(10):
            cp.remember_etag(f"/d/f{i}", 1, 1, "F")
        assert cp.prune_hash_cache("/d", untouchable(), 10) == 0
        assert cp.prune_hash_cache("/d", untouchable(), 12) == 0  # some walked files have no row yet
        assert len(_keys(cp)) == 10


def test_prune_is_committed_and_lookups_see_it(tmp_path: Path) -> None:
    p = tmp_path / "s"
    with Checkpoint(p) as cp:
        for i in range(5):
            cp.remember_etag(f"/d/f{i}", 1, 1, "F")
        cp.flush()
        assert cp.etag_for("/d/f0", 1, 1) == "F"  # the page of lookups now holds /d/f0../d/f4
        assert cp.prune_hash_cache("/d", [f"/d/f{i}" for i in range(1, 5)], 4) == 1
        assert cp.etag_for("/d/f0", 1, 1) is None
        with Checkpoint(p, create=False, readonly=True) as reader:  # another connection sees it at once
            assert reader.etag_for("/d/f0", 1, 1) is None and reader.etag_for("/d/f1", 1, 1) == "F"


def test_plan_view_never_prunes(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "s") as cp:
        cp.remember_etag("/d/gone", 1, 1, "F")
        view = ReadThroughState(cp)
        assert view.prune_hash_cache("/d", [], 0) == 0
        assert _keys(cp) == ["/d/gone"]
        assert ReadThroughState(None).prune_hash_cache("/d", [], 0) == 0
