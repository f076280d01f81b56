"""The built package run as the systemd unit runs it: the wheel installed in a fresh virtual environment, started as
a user who is not root (``nobody`` when the tests run as root) with the tokens from an environment file, its state
in a private folder; ``/healthz`` answers, and SIGTERM stops it cleanly.

This is what ``deploy/systemd/doithoai.service`` does on a server (``User=``, ``EnvironmentFile=``,
``StateDirectory=`` with mode 0700). The fresh environment installs the wheel's dependencies from the package index
(pip's cache makes a second run quick).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tomli_w

from bot.core.config import TOKEN_ENV
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def installed() -> Iterator[Path]:
    """A fresh venv (readable by every user, as /opt/doithoai/venv is) with the wheel built from this tree."""
    home = Path(tempfile.mkdtemp(prefix="doithoai-service-", dir="/tmp" if Path("/tmp").is_dir() else None))
    home.chmod(0o755)
    try:
        wheels = home / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                        str(wheels), str(ROOT)], check=True, capture_output=True, timeout=INSTALL_TIMEOUT_S)
        [wheel] = wheels.glob("doithoai-*.whl")
        subprocess.run([service_python(), "-m", "venv", str(home / "venv")], check=True, timeout=120)
        subprocess.run([str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
                       check=True, capture_output=True, timeout=INSTALL_TIMEOUT_S)
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def service_python() -> str:
    """The distribution's Python 3.11+ (as on a server: /usr/bin/python3), which every user may run; a Python
    installed in root's home could not be run by the service's user."""
    system = Path("/usr/bin/python3")
    if system.exists():
        version = subprocess.run([str(system), "-c", "import sys; print(sys.version_info >= (3, 11))"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
        if version == "True":
            return str(system)
    if os.geteuid() == 0:
        message = "needs the system's Python 3.11+ (/usr/bin/python3 with venv) to run as the service's user"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return sys.executable


def service_user() -> tuple[list[str], int | None]:
    """How to run as the service's user: ``nobody`` when the tests run as root, else the current user."""
    if os.geteuid() != 0:
        return [], None
    return [shutil.which("setpriv") or "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            "--reset-env"], pwd.getpwnam("nobody").pw_uid


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as systemd's EnvironmentFile= reads them (comments and blank lines skipped)."""
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


async def test_the_wheel_runs_as_a_service_user_with_its_environment_file_and_answers_healthz(
        installed: Path, fake_telegram: FakeTelegram) -> None:
    prefix, uid = service_user()
    state = installed / "state"
    state.mkdir(mode=0o700)
    if uid is not None:
        os.chown(state, uid, -1)
    port = free_port()
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data["database"]["path"] = str(state / "doithoai.sqlite3")
    data["telegram"].update(base_url=fake_telegram.base_url, base_file_url=fake_telegram.base_file_url,
                            poll_timeout=1)
    data["web"] = {**data.get("web", {}), "listen": "127.0.0.1", "port": port}
    config = installed / "config.toml"
    config.write_text(tomli_w.dumps(data), encoding="utf-8")
    config.chmod(0o644)
    env_file = installed / "doithoai.env"
    env_file.write_text(f"# tokens, owner-only\n{TOKEN_ENV}={fake_telegram.token}\n", encoding="utf-8")
    env_file.chmod(0o600)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(state), "LANG": "C.UTF-8", **environment_file(env_file)}

    process = await asyncio.create_subprocess_exec(
        *prefix, "env", *(f"{k}={v}" for k, v in env.items()), str(installed / "venv" / "bin" / "doithoai"), "run",
        "--config", str(config), cwd=str(state), stderr=asyncio.subprocess.PIPE)
    try:
        health = await until_healthy(port, process)
        assert health["database"] == "ok" and health["channels"].get("telegram") == "running", health
        database = state / "doithoai.sqlite3"
        assert database.stat().st_mode & 0o077 == 0
        if uid is not None:
            assert database.stat().st_uid == uid, "the database belongs to the service's user"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, errors = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, errors.decode()[-2000:]
    assert fake_telegram.token not in errors.decode()


async def until_healthy(port: int, process: asyncio.subprocess.Process, timeout: float = 60) -> dict:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                said = (await process.stderr.read()).decode()[-3000:] if process.stderr else ""
                raise AssertionError(f"the service stopped (exit {process.returncode}):\n{said}")
            try:
                answer = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if answer.status_code == 200:
                    return answer.json()
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("/healthz did not answer within a minute")
