"""The lean install: the base is what validate and the pre-commit hook need; the Kubernetes client is an extra.

The sizes and times are measured by hand (README "Set up"); what is checked here
is what decides them: the base's dependencies, and that every place that runs
the cluster gates installs the extra.
"""

from __future__ import annotations

import re
import tomllib

from testkit.tools import REPO_ROOT

PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_base_install_has_no_kubernetes_client_and_the_extra_does() -> None:
    # cronsim (pure Python) and tzdata (the IANA zones where the system has none) for deployment windows.
    base = {"pyyaml", "jsonschema-rs", "ruamel.yaml", "google-re2", "cronsim", "tzdata"}
    assert names(PROJECT["dependencies"]) == base
    assert names(PROJECT["optional-dependencies"]["kubernetes"]) == {"kubernetes"}
    # The fake-API tests of the argocd, flux and kubernetes gates run with the real client.
    assert "rollgen[kubernetes]" in PROJECT["optional-dependencies"]["test"]


def test_the_image_and_the_readme_set_up_install_the_client() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "ARG EXTRAS=kubernetes,aws" in dockerfile and '"rollgen[${EXTRAS}]"' in dockerfile
    # charts/rollgen runs that image.
    assert "see the Dockerfile" in (REPO_ROOT / "charts" / "rollgen" / "values.yaml").read_text()
    setup = re.search(r"```sh\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.DOTALL)
    assert setup is not None and "'.[demo,kubernetes]'" in setup.group(1)


def test_the_readme_states_what_each_install_costs() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## Set up") : readme.index("## Commands")]
    for install in (
        "`pip install .` (the base)",
        "`pip install '.[kubernetes]'`",
        "`pip install '.[demo,kubernetes]'`",
    ):
        (row,) = [line for line in section.splitlines() if line.startswith(f"| {install}")]
        assert re.search(r"\| \d+ MB \| [\d-]+ s \|$", row), row
