import os
import subprocess
import sys

import pytest

import fastmlp


def test_show_config_names_active_isa(capsys):
    fastmlp.show_config()
    out = capsys.readouterr().out
    assert f"active ISA:     {fastmlp.get_isa()}" in out


def test_generic_always_available():
    assert "generic" in fastmlp.available_isas()


def test_set_isa_round_trip(isa):
    assert fastmlp.get_isa() == isa


def test_set_isa_rejects_unknown_name():
    with pytest.raises(ValueError, match="isa must be one of"):
        fastmlp.set_isa("sse9")
    with pytest.raises(TypeError):
        fastmlp.set_isa(3)


@pytest.mark.parametrize("name", ["generic", "avx2", "avx512"])
def test_env_var_forces_path(name):
    env = dict(os.environ, FASTMLP_ISA=name)
    proc = subprocess.run([sys.executable, "-c", "import fastmlp; print(fastmlp.get_isa())"],
                          env=env, capture_output=True, text=True)
    if name in fastmlp.available_isas():
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == name
    else:
        # An explicit request this CPU cannot honour fails loudly, not silently.
        assert proc.returncode != 0
        assert "FASTMLP_ISA" in proc.stderr and "cannot run on this CPU" in proc.stderr
