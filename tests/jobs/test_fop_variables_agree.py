"""The manifest's fop validator and the pfop runner agree on the ``$(name)`` variables.

Before, ``$(fname)`` rendered fine in the runner but the validator refused it; both now read
one list (``manifest.spec_pfop.FOP_VARIABLES``) and the runner fills exactly those names.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kodo_jobs.jobs.saveas import expand_fop, key_vars, render, unknown_variables
from kodo_jobs.manifest import FOP_VARIABLES, PfopJob
from kodo_jobs.manifest.spec_pfop import check_fop_variables


def test_runner_fills_exactly_the_validated_names() -> None:
    assert set(key_vars("media", "video/a/clip.mp4")) == set(FOP_VARIABLES)
    assert "fname" in FOP_VARIABLES


@pytest.mark.parametrize("name", FOP_VARIABLES)
def test_every_variable_validates_and_renders(name: str) -> None:
    fop = f"vframe/jpg/offset/1|saveas/$(bucket):out/$({name}).jpg"
    assert check_fop_variables(fop) == fop
    job = PfopJob.model_validate({"name": "p", "kind": "pfop", "bucket": "media", "keys": ["a/b.mp4"],
                                  "fops": [fop]})
    assert job.fops == (fop,)
    assert unknown_variables(fop) == []
    assert "$(" not in render(fop, key_vars("media", "a/b.mp4"))


def test_fname_end_to_end_and_unknown_names_refused_by_both() -> None:
    out = expand_fop("avthumb/mp4|saveas/$(bucket):copies/$(fname)", "media", "v/a/clip.mp4")
    assert out.outputs == (("media", "copies/clip.mp4"),)
    assert render("$(dir)|$(fname)|$(stem)|$(ext)", key_vars("m", "v/a/clip.mp4")) == "v/a/|clip.mp4|clip|.mp4"
    bad = "x|saveas/$(bucket):$(basename)"
    with pytest.raises(ValueError, match=r"\$\(basename\)"):
        check_fop_variables(bad)
    with pytest.raises(ValidationError):
        PfopJob.model_validate({"name": "p", "kind": "pfop", "bucket": "media", "keys": ["k"], "fops": [bad]})
    assert unknown_variables(bad) == ["basename"]
    with pytest.raises(ValueError):
        render(bad, key_vars("m", "k"))
