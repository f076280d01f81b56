"""The deployment files an IT officer installs: the systemd units (``systemd-analyze verify``), the Dockerfile
(hadolint, which ships in its Python wheel), compose.yaml and the nginx site (``nginx -t`` where nginx is installed).

Each tool is required in CI (``CI=true``, whose ``.ci/run`` installs nginx and systemd); elsewhere a missing one
skips its test with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
IN_CI = os.environ.get("CI") == "true"
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The tool's path; skipped with the reason where it is missing (a failure in CI)."""
    found = shutil.which(name) or (str(VENV_BIN / name) if (VENV_BIN / name).exists() else None)
    if found is None:
        if IN_CI:
            pytest.fail(f"CI needs {name}")
        pytest.skip(f"needs {name}")
    return found


def unit(name: str) -> str:
    return (DEPLOY / "systemd" / name).read_text(encoding="utf-8")


def settings_of(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.mark.parametrize("name", ["doithoai.service", "doithoai-backup.service", "doithoai-backup.timer"])
def test_the_systemd_units_verify(name: str, tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    for other in ("doithoai.service", "doithoai-backup.service", "doithoai-backup.timer"):
        # the command where this machine has it, as /opt/doithoai/venv/bin/doithoai is on a server
        text = unit(other).replace("/opt/doithoai/venv/bin/doithoai", str(VENV_BIN / "doithoai"))
        (tmp_path / other).write_text(text, encoding="utf-8")

    done = subprocess.run([analyze, "verify", str(tmp_path / name)], capture_output=True, text=True, timeout=60)

    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if str(tmp_path) in line or name in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_the_service_runs_hardened_as_its_own_user_and_stays_down_when_restarting_cannot_help() -> None:
    found = settings_of(unit("doithoai.service"))

    assert found["User"] == ["doithoai"] and found["Restart"] == ["always"]
    assert found["StateDirectoryMode"] == ["0700"] and found["UMask"] == ["0077"]
    assert found["RestartPreventExitStatus"] == ["2"]       # a broken config or a failed upgrade: stay stopped
    assert found["ProtectSystem"] == ["strict"] and found["NoNewPrivileges"] == ["yes"]
    assert found["EnvironmentFile"] == ["/etc/doithoai/doithoai.env"]
    timer = settings_of(unit("doithoai-backup.timer"))
    assert timer["OnCalendar"] == ["*-*-* 02:00:00"] and timer["Persistent"] == ["true"]
    assert "backup --nightly" in settings_of(unit("doithoai-backup.service"))["ExecStart"][0]


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = tool("hadolint")

    done = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_runs_as_a_non_root_user_with_the_database_on_a_volume_and_a_health_check() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    instructions = [line.split(" ", 1)[0] for line in lines if line and not line.startswith("#")
                    and line.split(" ", 1)[0].isupper()]

    assert instructions[0] == "FROM" and "slim" in lines[next(i for i, x in enumerate(lines) if x.startswith("FROM"))]
    user = next(line for line in lines if line.startswith("USER "))
    assert user.split()[1].split(":")[0] not in ("0", "root")
    assert 'VOLUME ["/data"]' in lines
    health = " ".join(lines[lines.index(next(x for x in lines if x.startswith("HEALTHCHECK"))):][:2])
    assert "/healthz" in health
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "*.sqlite3*" in ignored and ".git" in ignored     # no database or history copied into the image


def test_compose_runs_the_bot_behind_nginx_with_its_data_on_a_volume() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    bot, nginx = compose["services"]["doithoai"], compose["services"]["nginx"]

    assert bot["build"] == "." and "doithoai-data:/data" in bot["volumes"] and bot["read_only"] is True
    assert bot["env_file"] == "doithoai.env" and "8080" in bot["expose"]
    assert nginx["depends_on"]["doithoai"]["condition"] == "service_healthy"
    assert {"80:80", "443:443"} <= set(nginx["ports"])
    mounted = {volume.split(":")[0] for volume in nginx["volumes"]}
    assert {"./deploy/nginx/doithoai.conf", "./deploy/nginx/upstream-compose.conf"} <= mounted
    for path in mounted & {"./deploy/nginx/doithoai.conf", "./deploy/nginx/upstream-compose.conf"}:
        assert (ROOT / path).is_file()
    assert "doithoai-data" in compose["volumes"]


def test_the_nginx_site_is_valid_with_a_certificate_in_place(tmp_path: Path) -> None:
    nginx, openssl = tool("nginx"), tool("openssl")
    live = tmp_path / "live"
    live.mkdir()
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=doithoai.example.vn", "-keyout", str(live / "privkey.pem"), "-out",
                    str(live / "fullchain.pem")], check=True, capture_output=True, timeout=60)
    site = (DEPLOY / "nginx" / "doithoai.conf").read_text(encoding="utf-8").replace(
        "/etc/letsencrypt/live/doithoai.example.vn", str(live))
    upstream = (DEPLOY / "nginx" / "doithoai-upstream.conf").read_text(encoding="utf-8")
    config = tmp_path / "nginx.conf"
    config.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                      f"http {{\naccess_log off;\n{upstream}\n{site}\n}}\n", encoding="utf-8")

    done = subprocess.run([nginx, "-t", "-c", str(config), "-p", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)

    assert done.returncode == 0, done.stderr
