"""Fixtures shared by the pipeline tests."""

from tests.pipeline.sharded_run import sharded

__all__ = ["sharded"]
