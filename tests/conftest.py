"""Shared test fixtures: every instruction-set path this machine can run,
tolerances per dtype, and the real data sets when they are present."""
import os
import pathlib

import numpy as np
import pytest

import fastmlp

ISAS = fastmlp.available_isas()
FORCED = os.environ.get("FASTMLP_ISA")


@pytest.fixture(params=ISAS if not FORCED else [fastmlp.get_isa()])
def isa(request):
    """Run the test once per ISA path (only the forced one under FASTMLP_ISA)."""
    before = fastmlp.get_isa()
    fastmlp.set_isa(request.param)
    try:
        yield request.param
    finally:
        fastmlp.set_isa(before)


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return np.dtype(request.param)


def rtol_for(dtype):
    """Tight enough to catch a wrong formula, loose enough for rounding."""
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-12


def datasets_dir():
    """The shared real data sets: $FASTMLP_DATASETS or ../shared/datasets."""
    env = os.environ.get("FASTMLP_DATASETS")
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture
def datasets():
    path = datasets_dir()
    if not (path / "mnist").is_dir():
        pytest.skip(f"real data sets not found at {path} (set FASTMLP_DATASETS to their folder)")
    return path
