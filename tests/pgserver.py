"""A PostgreSQL server of the test's own: its data directory, its port, stopped and
started at will (never the shared server on 5432).

PostgreSQL refuses to run as root: under root the server runs as the ``postgres`` user,
in a directory that user owns. Password authentication is on for TCP (scram-sha-256),
so a role's password is really checked; the superuser connects over the socket.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.sitekit import free_port


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def unavailable() -> str | None:
    """Why no server can be started here, or None."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        return "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start PostgreSQL as postgres"
    return None


class PgServer:
    """``start()``, ``stop()``, ``url(role, password, db)``; ``psql(sql)`` as superuser."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "run"
        self._as: list[str] = []
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run(str(self.socket_dir), mkdir=True)
        self._run(
            _bin("initdb") or "initdb", "-D", str(self.data), "-U", "postgres",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\nfsync = off\n"
                "shared_buffers = 16MB\nmax_connections = 40\n"
            )

    def _run(self, *argv: str, mkdir: bool = False) -> str:
        cmd = [*self._as, "mkdir", "-p", *argv] if mkdir else [*self._as, *argv]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        self._run(
            _bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"),
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def psql(self, sql: str, db: str = "postgres") -> str:
        return self._run(
            _bin("psql") or "psql", "-h", str(self.socket_dir), "-p", str(self.port),
            "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-tAc", sql,
        )  # fmt: skip

    def url(self, role: str, password: str, db: str, *, escape: bool = True) -> str:
        from urllib.parse import quote

        secret = quote(password, safe="") if escape else password
        return f"postgresql://{role}:{secret}@127.0.0.1:{self.port}/{db}"

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.psql("SELECT 1")
                return
            except RuntimeError:
                time.sleep(0.2)
        raise RuntimeError("PostgreSQL did not come back")
