#!/usr/bin/env python3
"""Set up and run Fangkong on a fresh machine with only Python 3.11, pip, Node.js/npm and git.

    python3 dev.py demo   # set up, load a simulated city outbreak into SQLite, serve http://127.0.0.1:8000
    python3 dev.py test   # set up, then lint, type-check and run the whole test suite

Setup is idempotent and quick when nothing changed: a virtual environment in .venv from the lock file,
front-end packages from package-lock.json, compiled translations, migrations.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
# CI also installs the `spark` extra (PySpark, ~491 MB) so that the engine's Spark tests run there; on a
# developer's machine they skip unless FANGKONG_WITH_SPARK=1.
WITH_SPARK = bool(os.environ.get("CI") or os.environ.get("FANGKONG_WITH_SPARK"))
LOCK = ROOT / "requirements" / ("ci.lock" if WITH_SPARK else "dev.lock")


def run(*args: str | os.PathLike[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


def setup() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Fangkong needs Python 3.11; this is {sys.version.split()[0]}")
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".fangkong-lock"
    digest = hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        run(PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", LOCK)
        run(PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-deps", "-e", ".")
        stamp.write_text(digest)
    npm_stamp = ROOT / "node_modules" / ".fangkong-lock"
    npm_digest = hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest()
    if not npm_stamp.exists() or npm_stamp.read_text() != npm_digest:
        run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
        npm_stamp.write_text(npm_digest)
    run(PY, "-m", "fangkong.cli", "compile-translations")


def fangkong(*args: str, env: dict[str, str] | None = None) -> None:
    run(PY, "-m", "fangkong.cli", *args, env=env)


def demo(extra: list[str]) -> None:
    setup()
    env = {**os.environ, "FANGKONG_DEBUG": os.environ.get("FANGKONG_DEBUG", "1")}
    fangkong("migrate", "--no-input", env=env)
    fangkong("demo", *extra, env=env)


def test(extra: list[str]) -> None:
    setup()
    checks = os.environ.get("FANGKONG_SKIP_LINT") != "1"
    if checks:
        run(PY, "-m", "ruff", "check", ".")
        run(PY, "-m", "ruff", "format", "--check", ".")
        run(VENV / "bin" / "lint-imports")
        run(PY, "-m", "mypy")
        run(PY, "-m", "fangkong.cli", "makemigrations", "--check", "--dry-run", "--no-input", "-v", "0")
    run(PY, "-m", "pytest", *extra)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test", "setup"}:
        sys.exit(__doc__)
    command, extra = sys.argv[1], sys.argv[2:]
    if command == "setup":
        setup()
    elif command == "demo":
        demo(extra)
    else:
        test(extra)


if __name__ == "__main__":
    main()
