"""The fop language, simulated (pure): parsing ``fops`` values and each stage's stand-in output."""

from __future__ import annotations

import pytest
import qiniu

from kodo_jobs.emulator.fops import commands


def test_parse_fops_splits_ops_pipes_and_saveas() -> None:
    entry = qiniu.urlsafe_base64_encode("out:thumb.jpg")
    specs = commands.parse_fops(f"avinfo;vframe/jpg/offset/1|imageView2/1/w/10|saveas/{entry}/deleteAfterDays/3")
    assert [s.stages for s in specs] == [("avinfo",), ("vframe/jpg/offset/1", "imageView2/1/w/10")]
    assert (specs[1].save_bucket, specs[1].save_key, specs[1].delete_after_days) == ("out", "thumb.jpg", 3)
    bucket_only = commands.parse_fops("avthumb/mp4|saveas/" + qiniu.urlsafe_base64_encode("out"))[0]
    assert (bucket_only.save_bucket, bucket_only.save_key) == ("out", None)


@pytest.mark.parametrize("bad", ["", ";", "avthumb/mp4|saveas/%%%", "|saveas/b3V0"])
def test_parse_fops_rejects_malformed(bad: str) -> None:
    with pytest.raises(commands.FopError) as info:
        commands.parse_fops(bad)
    assert info.value.status == 400


def test_run_stage_is_deterministic_and_names_input() -> None:
    video = commands.Content.of(b"video bytes", "video/mp4")
    out1, mime = commands.run_stage("vframe/jpg/offset/1", video)
    out2, _ = commands.run_stage("vframe/jpg/offset/1", video)
    other, _ = commands.run_stage("vframe/jpg/offset/1", commands.Content.of(b"other bytes", "video/mp4"))
    assert out1 == out2 != other
    assert mime == "image/jpeg"
    assert b"vframe/jpg/offset/1" in out1 and b"input-size: 11" in out1
    with pytest.raises(ValueError, match="unsupported fop: 'nosuchfop'"):
        commands.run_stage("nosuchfop/x", commands.Content.of(b"", "text/plain"))
