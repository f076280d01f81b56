"""Config: the example loads; a broken config stops the start with one message naming the key, exit 2."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

from bot.core.config import ConfigError, load_settings, parse_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def example() -> dict:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_example_config_is_the_seed_000_commune() -> None:
    settings = load_settings(EXAMPLE)
    assert [h.name for h in settings.hamlets()] == ["Ấp Tân Dân", "Ấp Tân Hùng", "Ấp Tân Chủ", "Ấp Tân Hậu"]
    assert settings.bot.timezone == "Asia/Ho_Chi_Minh"
    assert settings.topic("xuat-khau-lao-dong")[0].id == "lao-dong-viec-lam"
    assert Path(settings.database.path).is_absolute()


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d["units"][0]["children"][1].update(id="Tân Hùng"), "units[0].children[1].id"),
        (lambda d: d["bot"].update(timezone="Mars/Olympus"), "bot.timezone"),
        (lambda d: d["bot"].update(admins="me"), "bot.admins"),
        (lambda d: d["telegram"].update(mode="carrier-pigeon"), "telegram.mode"),
        (lambda d: d["fields"][1]["topics"][0].update(colour="red"), "fields[1].topics[0].colour"),
        (lambda d: d.pop("units"), "units"),
        (lambda d: d["fields"][0].update(topics=[]), "fields[0].topics"),
    ],
)
def test_a_bad_value_names_its_key(change, key: str) -> None:
    data = example()
    change(data)
    with pytest.raises(ConfigError) as caught:
        parse_settings(data)
    assert caught.value.key == key


def test_duplicate_hamlet_ids_are_refused() -> None:
    data = example()
    data["units"][0]["children"][1]["id"] = "tan-dan"
    with pytest.raises(ConfigError, match="tan-dan"):
        parse_settings(data)


def test_webhook_mode_without_url_is_refused() -> None:
    data = example()
    data["telegram"]["mode"] = "webhook"
    with pytest.raises(ConfigError, match="webhook_url"):
        parse_settings(data)


def test_token_from_environment_wins_over_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    data = example()
    data["telegram"]["token"] = "111:from-file"
    monkeypatch.setenv("DOITHOAI_TELEGRAM_TOKEN", "222:from-env")
    assert parse_settings(data).telegram.resolved_token() == "222:from-env"


def test_token_never_shows_in_the_settings_repr() -> None:
    data = example()
    data["telegram"]["token"] = "123456:SECRET-TOKEN-VALUE"
    assert "SECRET-TOKEN-VALUE" not in repr(parse_settings(data))


def test_broken_config_stops_the_cli_with_exit_2_and_names_the_key(tmp_path: Path) -> None:
    data = example()
    data["units"][0]["children"][2]["name"] = "   "
    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps(data), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check", "--config", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "units[0].children[2].name" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_toml_is_reported_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[bot\nname = ", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check", "--config", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "TOML" in result.stderr and "Traceback" not in result.stderr


def test_run_without_any_token_explains_how_to_try_the_terminal(tmp_path: Path) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if k != "DOITHOAI_TELEGRAM_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--config", str(EXAMPLE)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "doithoai console" in result.stderr
