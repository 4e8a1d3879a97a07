"""pfop: saveas templating (pure)."""

from __future__ import annotations

import base64

import pytest

from kodo_jobs.jobs.saveas import encode_entry, expand_fop, expand_fops, key_vars, unknown_variables


def _decode(entry: str) -> str:
    return base64.urlsafe_b64decode(entry).decode()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("video/a/clip.mp4", {"dir": "video/a/", "fname": "clip.mp4", "stem": "clip", "ext": ".mp4"}),
        ("clip.tar.gz", {"dir": "", "fname": "clip.tar.gz", "stem": "clip.tar", "ext": ".gz"}),
        ("a/.hidden", {"dir": "a/", "fname": ".hidden", "stem": ".hidden", "ext": ""}),
        ("noext", {"dir": "", "fname": "noext", "stem": "noext", "ext": ""}),
        ("dir/", {"dir": "dir/", "fname": "", "stem": "", "ext": ""}),
    ],
)
def test_key_vars(key: str, expected: dict[str, str]) -> None:
    got = key_vars("media", key)
    assert got["bucket"] == "media" and got["key"] == key
    assert {k: got[k] for k in expected} == expected


def test_saveas_plain_entry_is_templated_and_encoded() -> None:
    out = expand_fop("avthumb/mp4/s/640x360|saveas/$(bucket):$(dir)$(stem).360p$(ext)", "media", "v/x/clip.mp4")
    head, target = out.fop.split("|saveas/")
    assert head == "avthumb/mp4/s/640x360"
    assert _decode(target) == "media:v/x/clip.360p.mp4"
    assert out.outputs == (("media", "v/x/clip.360p.mp4"),)


def test_delete_after_days_stays_outside_the_entry() -> None:
    out = expand_fop("vframe/jpg/offset/1|saveas/thumbs:$(key).jpg/deleteAfterDays/7", "media", "a.mp4")
    target = out.fop.split("|saveas/")[1]
    entry, tail = target.split("/deleteAfterDays/")
    assert _decode(entry) == "thumbs:a.mp4.jpg" and tail == "7"
    assert out.outputs == (("thumbs", "a.mp4.jpg"),)


def test_already_encoded_target_is_sent_unchanged() -> None:
    encoded = encode_entry("b", "k.jpg")
    out = expand_fop(f"vframe/jpg|saveas/{encoded}", "media", "a.mp4")
    assert out.fop == f"vframe/jpg|saveas/{encoded}"
    assert out.outputs == ()


def test_several_fops_are_joined_with_semicolons() -> None:
    out = expand_fops(["avinfo", "vframe/jpg|saveas/$(bucket):$(stem).jpg"], "m", "d/c.mp4")
    first, second = out.fop.split(";")
    assert first == "avinfo"
    assert _decode(second.split("|saveas/")[1]) == "m:c.jpg"
    assert out.outputs == (("m", "c.jpg"),)


def test_unknown_variable_is_refused_with_the_known_ones() -> None:
    assert unknown_variables("x|saveas/$(bucket):$(name).jpg") == ["name"]
    with pytest.raises(ValueError, match=r"unknown variable \$\(name\).*\$\(stem\)"):
        expand_fop("x|saveas/$(bucket):$(name).jpg", "m", "k")


def test_bucket_only_target() -> None:
    out = expand_fop("avinfo|saveas/$(bucket)", "media", "k")
    assert _decode(out.fop.split("|saveas/")[1]) == "media"
    assert out.outputs == ()
