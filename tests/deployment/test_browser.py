"""The Airflow UI of the test deployment in headless Chromium: the trigger form and a connection form.

Screenshots are kept in ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deployment.conftest import ARTIFACTS, Deployment

pytestmark = pytest.mark.deployment

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRIGGER_FORM = {
    "Profile": ["HrFlow source key", "HrFlow profile key", "HrFlow webhook event"],
    "Job": ["Job id", "Shortlist id", "Aplitrak email address"],
    "Broadbean account": ["Client id", "Source id"],
    "Run": ["Workflow id", "Send to Broadbean", "Incremental"],
}


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package")
    return path


@pytest.fixture
def page(deployment: Deployment) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.set_default_timeout(60_000)
            page.goto(f"{deployment.base_url}/auth/login")
            page.get_by_label("Username").fill(deployment.username)
            page.get_by_label("Password").fill(deployment.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{deployment.base_url}/")
            yield page
        finally:
            browser.close()


def test_trigger_form_explains_every_param(page: Any, deployment: Deployment) -> None:
    from tests.deployment.test_deployment import wait_for_dag

    wait_for_dag(deployment, "hrflow_profile_to_broadbean")
    page.goto(f"{deployment.base_url}/dags/hrflow_profile_to_broadbean")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    for section, labels in TRIGGER_FORM.items():
        dialog.get_by_role("button", name=section, exact=True).click()
        for label in labels:  # a required field's label also holds a "*"
            dialog.get_by_text(re.compile(rf"^{re.escape(label)}\s*\*?$")).first.wait_for(state="visible")
        if section == "Profile":
            assert "Required unless a webhook event is given" in dialog.inner_text()
            page.screenshot(path=str(ARTIFACTS / "trigger-form.png"), full_page=True)


def test_broadbean_connection_form_shows_the_declared_fields(page: Any, deployment: Deployment) -> None:
    page.goto(f"{deployment.base_url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox").click()
    page.keyboard.type("Broadbean")
    page.get_by_role("option", name="Broadbean Candidate Hub").click()
    for label in ("Candidate Hub URL", "Signing source id (optional)", "Secret key"):
        dialog.get_by_text(label, exact=True).wait_for(state="visible")
    assert dialog.get_by_placeholder("https://candidatehub.adcourier.com").count() == 1
    for hidden in ("Port", "Schema", "Login", "Password"):
        assert dialog.get_by_text(hidden, exact=True).count() == 0
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    for label in ("Read timeout (seconds)", "Attempts per candidate"):
        dialog.get_by_text(label, exact=True).wait_for(state="visible")
    page.screenshot(path=str(ARTIFACTS / "broadbean-connection-form.png"), full_page=True)
