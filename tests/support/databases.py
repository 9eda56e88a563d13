"""SQLite template databases for the suite, built once and kept under var/test-cache/.

A template (a migrated database, or one with `seed_demo` loaded for the live server) is named after a
fingerprint of everything that can change what migrate and seed_demo write: the apps' folders (code,
migrations, fixtures), manage.py, requirements.txt, and the day (seed_demo stamps rows with the current
time). Tests, templates, static files, docs, benchmarks and deploy/ are left out, so editing them reuses
the template. Tests copy a
template; they never write to it.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from deploy.processes import PROJECT_DIR

CACHE_DIR = PROJECT_DIR / "var" / "test-cache"
# Top-level entries that do not change what migrate and seed_demo write.
IGNORED = {
    ".ci",
    ".git",
    ".pytest_cache",
    ".venv",
    "bench",
    "deploy",
    "docs",
    "node_modules",
    "screenshots",
    "static",
    "staticfiles",
    "templates",
    "tests",
    "var",
}
# Of the files at the top, these two (not the Makefile, pytest.ini, README, the dev database).
TOP_LEVEL_FILES = {"manage.py", "requirements.txt"}
KEEP = 3  # templates of each kind kept, newest first (other branches, earlier code)


def _source_files() -> Iterator[Path]:
    for top in sorted(PROJECT_DIR.iterdir()):
        if top.name in IGNORED or (top.is_file() and top.name not in TOP_LEVEL_FILES):
            continue
        paths = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def fingerprint() -> str:
    """Return a short hash of the code, migrations, fixtures and requirements, and today's date."""
    digest = hashlib.sha256(datetime.date.today().isoformat().encode())
    for path in _source_files():
        digest.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def copy_sqlite(source: Path, target: Path) -> Path:
    """Copy a SQLite database with its write-ahead log, if it has one."""
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


def _checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the file, so the template is one file."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with contextlib.suppress(FileNotFoundError):
        if Path(f"{path}-wal").stat().st_size == 0:
            os.unlink(f"{path}-wal")


def cached_template(
    kind: str, build: Callable[[Path], None], *, key: str | None = None, progress: Callable[[str], None] | None = None
) -> Path:
    """Return var/test-cache/KIND-FINGERPRINT.sqlite3, calling ``build(path)`` to make it when it is missing.

    A lock makes concurrent runs (pytest-xdist workers, two terminals) build it once; the file appears
    only when complete, so a run that was interrupted while building leaves no half template behind.
    """
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{kind}-{key or fingerprint()}.sqlite3"
    if path.exists():
        return path
    with open(CACHE_DIR / f"{kind}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        building = path.with_name(f".{path.name}.{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{building}{suffix}")
        if progress:
            progress(f"building the {kind} test database (cached in {CACHE_DIR.relative_to(PROJECT_DIR)}/)")
        try:
            build(building)
            _checkpoint(building)
            for suffix in ("-wal",):
                if Path(f"{building}{suffix}").exists():
                    os.replace(f"{building}{suffix}", f"{path}{suffix}")
            os.replace(building, path)
        finally:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{building}{suffix}")
        _prune(kind)
    return path


def _prune(kind: str) -> None:
    templates = sorted(CACHE_DIR.glob(f"{kind}-*.sqlite3"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in templates[KEEP:]:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{old}{suffix}")
