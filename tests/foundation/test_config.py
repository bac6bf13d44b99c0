"""Configuration: `allmende init` output, environment overrides, one-line errors."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from allmende.node.config import ConfigError, load_settings
from allmende.node.setup_files import init_directory


def test_init_writes_config_and_private_key(tmp_path: Path) -> None:
    init_directory(tmp_path / "v", name="Bredstedt", ags="01054")
    settings = load_settings(tmp_path / "v", environ={})
    assert settings.node.id == "https://bredstedt.example/"
    assert settings.node.ags == "01054"
    assert settings.kafka.bootstrap_servers == ""
    mode = stat.S_IMODE((tmp_path / "v" / "node-key.pem").stat().st_mode)
    assert mode == 0o600


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    init_directory(tmp_path, name="Struckum")
    before = (tmp_path / "node-key.pem").read_bytes()
    with pytest.raises(FileExistsError):
        init_directory(tmp_path, name="Struckum")
    assert (tmp_path / "node-key.pem").read_bytes() == before


def test_environment_overrides_every_section(tmp_path: Path) -> None:
    init_directory(tmp_path, name="Struckum")
    settings = load_settings(
        tmp_path,
        environ={
            "ALLMENDE_HTTP_PORT": "9123",
            "ALLMENDE_NODE_NAME": "Struckum (Probe)",
            "ALLMENDE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
            "ALLMENDE_DATABASE_URL": "postgresql://u@127.0.0.1:5432/db",
        },
    )
    assert settings.http.port == 9123
    assert settings.node.name == "Struckum (Probe)"
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.database_url == "postgresql+psycopg://u@127.0.0.1:5432/db"


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({"ALLMENDE_HTTP_PORT": "eighty"}, "setting http.port (from ALLMENDE_HTTP_PORT)"),
        ({"ALLMENDE_NODE_ID": "http://plain.example/"}, "setting node.id (from ALLMENDE_NODE_ID)"),
        ({"ALLMENDE_NODE_AGS": "1234"}, "setting node.ags"),
        ({"ALLMENDE_DATABASE_URL": "mysql://x"}, "setting database.url"),
    ],
)
def test_wrong_setting_is_named_in_one_line(
    tmp_path: Path, environ: dict[str, str], needle: str
) -> None:
    init_directory(tmp_path, name="Struckum")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ=environ)
    message = str(caught.value)
    assert needle in message
    assert "\n" not in message


def test_missing_setting_is_named(tmp_path: Path) -> None:
    (tmp_path / "allmende.toml").write_text('[node]\nid = "https://a.example/"\nname = "A"\n')
    with pytest.raises(ConfigError, match=r"setting node\.ags in .* is missing"):
        load_settings(tmp_path, environ={})


def test_unknown_setting_is_refused(tmp_path: Path) -> None:
    init_directory(tmp_path, name="Struckum")
    path = tmp_path / "allmende.toml"
    path.write_text(path.read_text().replace("[http]", "[http]\nprot = 1"))
    with pytest.raises(ConfigError, match=r"http\.prot"):
        load_settings(tmp_path, environ={})


def test_serve_with_bad_setting_stops_with_one_line(tmp_path: Path) -> None:
    init_directory(tmp_path, name="Struckum")
    result = subprocess.run(
        [sys.executable, "-m", "allmende.node", "serve", str(tmp_path)],
        env={"ALLMENDE_HTTP_PORT": "0x", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "http.port" in lines[0] and "ALLMENDE_HTTP_PORT" in lines[0]
