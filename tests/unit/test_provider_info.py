"""Provider registration: the dict Airflow validates, and the installed distribution's name."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_broadbean.get_provider_info import get_provider_info


def test_provider_info_matches_airflow_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_package_name_is_the_installed_distribution() -> None:
    info = get_provider_info()
    assert metadata.distribution(info["package-name"]).metadata["Name"] == "airflow-provider-broadbean"
    entry_points = metadata.entry_points(group="apache_airflow_provider")
    ours = [ep for ep in entry_points if ep.value.startswith("airflow_provider_broadbean.")]
    assert [ep.load()()["package-name"] for ep in ours] == ["airflow-provider-broadbean"]


def test_connection_forms_are_declared() -> None:
    types = {entry["connection-type"]: entry for entry in get_provider_info()["connection-types"]}
    assert set(types) == {"hrflow", "broadbean"}
    hrflow = types["hrflow"]["ui-field-behaviour"]
    assert hrflow["relabeling"] == {
        "host": "API root URL",
        "login": "API user email",
        "password": "API secret key",
    }
    assert {"schema", "port", "extra"} <= set(hrflow["hidden-fields"])
    broadbean = types["broadbean"]["ui-field-behaviour"]
    assert broadbean["relabeling"]["password"] == "Secret key"
    assert broadbean["placeholders"]["host"] == "https://candidatehub.adcourier.com"


def test_provider_info_module_imports_nothing_heavy() -> None:
    code = (
        "import sys; import airflow_provider_broadbean.get_provider_info as m; m.get_provider_info(); "
        "heavy = [n for n in ('airflow', 'hrflow', 'pydantic', 'requests') if n in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _json_output(stdout: str) -> list[dict[str, str]]:
    """The JSON table a CLI command printed (some Airflow releases print log lines before it)."""
    return list(json.loads(stdout[stdout.index("[{") :]))


@pytest.mark.airflow
def test_airflow_cli_lists_provider_and_both_hooks(airflow_env: dict[str, str]) -> None:
    airflow_bin = str(Path(sys.executable).parent / "airflow")
    providers = subprocess.run(
        [airflow_bin, "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        env=airflow_env,
        check=True,
        timeout=180,
    )
    names = [row["package_name"] for row in _json_output(providers.stdout)]
    assert "airflow-provider-broadbean" in names

    hooks = subprocess.run(
        [airflow_bin, "providers", "hooks", "--output", "json"],
        capture_output=True,
        text=True,
        env=airflow_env,
        check=True,
        timeout=180,
    )
    rows = {row["connection_type"]: row for row in _json_output(hooks.stdout)}
    assert rows["hrflow"]["class"] == "airflow_provider_broadbean.hooks.hrflow.HrFlowHook"
    assert rows["broadbean"]["class"] == "airflow_provider_broadbean.hooks.broadbean.BroadbeanHook"
