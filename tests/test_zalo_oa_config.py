"""``[zalo_oa]``: validated with one message naming the key; secrets from the environment; ``doithoai check`` names
what the OA channel lacks."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

from bot.core.config import (
    ZALO_OA_APP_SECRET_ENV,
    ZALO_OA_REFRESH_TOKEN_ENV,
    ZALO_OA_SECRET_KEY_ENV,
    ConfigError,
    parse_settings,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
SECRETS = (ZALO_OA_APP_SECRET_ENV, ZALO_OA_SECRET_KEY_ENV, ZALO_OA_REFRESH_TOKEN_ENV)


def with_oa(**section: object) -> dict:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["zalo_oa"] = {"app_id": "4318000000000000001", "oa_id": "2791000000000000002", **section}
    return data


def test_a_zns_parameter_filled_from_an_unknown_field_names_its_key() -> None:
    data = with_oa(zns={"reminder": {"template_id": "248001", "params": {"ten": "ho_ten"}}})
    with pytest.raises(ConfigError) as caught:
        parse_settings(data)
    assert caught.value.key == "zalo_oa.zns.reminder.params"
    assert "ho_ten" in caught.value.text("vi") and "name" in caught.value.text("vi")


def test_a_zns_template_for_a_kind_that_has_none_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(with_oa(zns={"broadcast": {"template_id": "1", "params": {"a": "name"}}}))
    assert caught.value.key == "zalo_oa.zns"


def test_secrets_come_from_the_environment_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ZALO_OA_APP_SECRET_ENV, "from-env")
    monkeypatch.setenv(ZALO_OA_SECRET_KEY_ENV, "key-from-env")
    oa = parse_settings(with_oa(app_secret="from-file")).zalo_oa
    assert (oa.resolved_app_secret(), oa.resolved_secret_key(), oa.missing()) == ("from-env", "key-from-env", [])
    assert "from-file" not in repr(oa)


def check(tmp_path: Path, data: dict, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.toml"
    data["database"]["path"] = str(tmp_path / "db.sqlite3")
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run([sys.executable, "-m", "bot.cli", "check", "--config", str(path)], cwd=ROOT,
                          env={**clean, **env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=False)


def test_check_names_the_missing_oa_secrets_and_fails(tmp_path: Path) -> None:
    done = check(tmp_path, with_oa())
    assert done.returncode == 2
    assert ZALO_OA_APP_SECRET_ENV in done.stderr and ZALO_OA_SECRET_KEY_ENV in done.stderr


def test_check_accepts_a_complete_oa_section(tmp_path: Path) -> None:
    done = check(tmp_path, with_oa(zns={"reminder": {"template_id": "248001", "params": {"ten": "name"}}}),
                 **{ZALO_OA_APP_SECRET_ENV: "s3cret-app", ZALO_OA_SECRET_KEY_ENV: "s3cret-key"})
    assert done.returncode == 0, done.stderr
    assert "Zalo OA 2791000000000000002" in done.stdout and "1 mẫu ZNS" in done.stdout
    assert "s3cret" not in done.stdout + done.stderr
