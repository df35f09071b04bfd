"""``c4broker check-config``: every kind of mistake is reported with its line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from broker.cli import main
from broker.config import registry_schema

ROOT = Path(__file__).resolve().parents[2]

GOOD_BROKER = """\
providers_file: providers.yaml
tenants:
  - name: acme
    client_uuid: 5e96afa52c1a53348adc5c5663978058
    api_keys: ["${ACME_KEY:-a-long-enough-key}"]
"""
GOOD_PROVIDERS = """\
providers:
  - name: one
    compute: http://127.0.0.1:7777
"""


def check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broker: str, providers: str
) -> tuple[int, list[str]]:
    (tmp_path / "broker.yaml").write_text(broker)
    (tmp_path / "providers.yaml").write_text(providers)
    code = main(["check-config", str(tmp_path / "broker.yaml")])
    lines = capsys.readouterr().out.splitlines()
    return code, lines


def test_good_files_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid configuration exits 0."""
    code, lines = check(tmp_path, capsys, GOOD_BROKER, GOOD_PROVIDERS)
    assert code == 0
    assert lines[0].endswith("ok (1 tenant, 1 provider)")


def test_unset_variable_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """${NAME} without a default and without the variable is an error at its line."""
    monkeypatch.delenv("C4_TEST_UNSET", raising=False)
    broker = GOOD_BROKER.replace("${ACME_KEY:-a-long-enough-key}", "${C4_TEST_UNSET}")
    code, lines = check(tmp_path, capsys, broker, GOOD_PROVIDERS)
    assert code == 1
    assert lines == [
        f"{tmp_path / 'broker.yaml'}:5: Environment variable C4_TEST_UNSET is not set "
        "and has no default."
    ]


def test_variable_default_and_value_are_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A set variable replaces ${NAME}; the default replaces ${NAME:-default}."""
    monkeypatch.setenv("C4_TEST_HOST", "10.0.0.9")
    providers = GOOD_PROVIDERS.replace("127.0.0.1", "${C4_TEST_HOST}")
    code, _ = check(tmp_path, capsys, GOOD_BROKER, providers)
    assert code == 0


def test_default_stands_in_for_an_empty_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """${NAME:-default} takes the default when NAME is set but empty, as in a shell."""
    monkeypatch.setenv("ACME_KEY", "")
    code, lines = check(tmp_path, capsys, GOOD_BROKER, GOOD_PROVIDERS)
    assert code == 0, lines


def test_unknown_key_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt key is an error, not silently ignored."""
    providers = GOOD_PROVIDERS + "    wieght: 2\n"
    code, lines = check(tmp_path, capsys, GOOD_BROKER, providers)
    assert code == 1
    assert lines == [
        f"{tmp_path / 'providers.yaml'}:4: providers.0.wieght: Unknown key."
    ]


def test_duplicate_provider_name_points_at_the_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two providers with one name: the error names the second one's line."""
    providers = GOOD_PROVIDERS + "  - name: one\n    storage: http://127.0.0.1:7772\n"
    code, lines = check(tmp_path, capsys, GOOD_BROKER, providers)
    assert code == 1
    assert lines == [
        f"{tmp_path / 'providers.yaml'}:4: providers.1.name: Duplicate name 'one'."
    ]


def test_duplicate_name_is_reported_beside_other_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A duplicate name shows up in the same run as the other mistakes."""
    providers = GOOD_PROVIDERS + "  - name: one\n    compute: ftp://x\n"
    code, lines = check(tmp_path, capsys, GOOD_BROKER, providers)
    assert code == 1
    path = tmp_path / "providers.yaml"
    assert lines == [
        f"{path}:4: providers.1.name: Duplicate name 'one'.",
        f"{path}:5: providers.1.compute: A provider URL must start with http:// or"
        " https://.",
    ]


def test_duplicate_tenant_name_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two tenants with one name are refused, at the second one."""
    broker = GOOD_BROKER + (
        "  - name: acme\n    client_uuid: ffff\n    api_keys: [another-long-key]\n"
    )
    code, lines = check(tmp_path, capsys, broker, GOOD_PROVIDERS)
    assert code == 1
    assert lines == [
        f"{tmp_path / 'broker.yaml'}:6: tenants.1.name: Duplicate name 'acme'."
    ]


def test_api_key_shared_by_two_tenants_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One key for two tenants would log one in as the other: refused, unshown."""
    monkeypatch.delenv("ACME_KEY", raising=False)
    broker = GOOD_BROKER + (
        "  - name: globex\n    client_uuid: ffff\n    api_keys: [a-long-enough-key]\n"
    )
    code, lines = check(tmp_path, capsys, broker, GOOD_PROVIDERS)
    assert code == 1
    assert len(lines) == 1
    assert "Tenants 'acme' and 'globex' share an API key" in lines[0]
    assert "a-long-enough-key" not in lines[0]


def test_empty_registry_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry file with nothing in it (a save cut short) is not "no providers"."""
    code, lines = check(tmp_path, capsys, GOOD_BROKER, "")
    assert code == 1
    assert lines == [f"{tmp_path / 'providers.yaml'}:1: providers: Field required."]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1:7777", "A provider URL must start with http:// or https://."),
        ("http://", "A provider URL must name a host."),
        (
            "http://user:pw@host:7777",
            "A provider URL must not carry a user name or password.",
        ),
        ("http://host:99999", "A provider URL has an invalid port."),
        (
            "http://exa mple.com:7777",
            "A provider URL names an invalid host 'exa mple.com'.",
        ),
        (
            "http://-bad-.example:7777",
            "A provider URL names an invalid host '-bad-.example'.",
        ),
    ],
)
def test_bad_url_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, message: str
) -> None:
    """A provider URL that is not a plain http(s) base URL is refused at its line."""
    providers = GOOD_PROVIDERS.replace("http://127.0.0.1:7777", url)
    code, lines = check(tmp_path, capsys, GOOD_BROKER, providers)
    assert code == 1
    assert lines == [f"{tmp_path / 'providers.yaml'}:3: providers.0.compute: {message}"]


def test_every_problem_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several mistakes in one file are all reported, not just the first."""
    providers = (
        "providers:\n"
        "  - name: one\n    compute: ftp://x\n"
        "  - name: Two\n    compute: http://h:1\n    colour: red\n"
    )
    code, lines = check(tmp_path, capsys, GOOD_BROKER, providers)
    assert code == 1
    assert len(lines) == 3
    assert [line.split(":")[1] for line in lines] == ["3", "4", "6"]


def test_invalid_yaml_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A YAML syntax error names the line it was found on."""
    code, lines = check(tmp_path, capsys, GOOD_BROKER, "providers:\n  - name: [one\n")
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path / 'providers.yaml'}:3: Invalid YAML")


def test_a_file_that_is_not_a_mapping_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry that is a bare list is one plain problem, not a type name."""
    code, lines = check(tmp_path, capsys, GOOD_BROKER, "- name: one\n")
    assert code == 1
    assert lines == [
        f"{tmp_path / 'providers.yaml'}:1: The file must hold keys and their values."
    ]


def test_shipped_configuration_is_valid(tmp_path: Path) -> None:
    """config/broker.yaml and the demo registry pass check-config as a command."""
    env = {"ACME_KEY": "acme-example-key", "OPS_KEY": "ops-example-key", "PATH": ""}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "broker",
            "check-config",
            str(ROOT / "config/broker.yaml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shipped_schema_matches_the_models() -> None:
    """config/providers.schema.json is what the models generate today."""
    shipped = json.loads((ROOT / "config/providers.schema.json").read_text())
    assert shipped == registry_schema(), "regenerate: python -m broker.config"
