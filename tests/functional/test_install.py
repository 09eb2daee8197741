"""The built collection, installed the way users install it, used away from the checkout: what the tarball
holds, the clone playbook by its FQCN in check mode against the endpoint, and ansible-doc of every module
and of the role."""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from devtools.seed import seed_example

from .helpers import ROOT, mutating

BIN = Path(sys.executable).parent
# Development tooling and build output that must never ship.
NOT_SHIPPED = (".venv/", ".collections/", ".git/", ".ansible/", ".pytest_cache/", "devtools/", "tests/functional/",
               "tests/endpoint/", "tests/output/", "build/", "awx/", "collections/")


def clean_env(collections_path, extra=None):
    """Nothing of the checkout: no ansible.cfg of the repository, only the installed collections."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR="1", **(extra or {}))
    return env


def run(command, cwd, env):
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(tarball, collections path, the directory the commands run in)."""
    work = tmp_path_factory.mktemp("install")
    collections = work / "collections"
    env = clean_env(collections)
    built = run([BIN / "ansible-galaxy", "collection", "build", "--output-path", work / "dist", ROOT], work, env)
    assert built.returncode == 0, built.stdout + built.stderr
    (tarball,) = (work / "dist").glob("mitosis-rds-*.tar.gz")
    done = run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", collections, tarball], work, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (collections / "ansible_collections" / "mitosis" / "rds" / "MANIFEST.json").is_file()
    return tarball, collections, work


def test_the_tarball_holds_the_collection_and_no_tooling(installed):
    tarball = installed[0]
    with tarfile.open(tarball) as archive:
        names = [member.name + ("/" if member.isdir() else "") for member in archive.getmembers()]
    shipped = [name for name in names if name.startswith(NOT_SHIPPED) or name.endswith((".tar.gz", ".pyc"))
               or "__pycache__" in name]
    assert shipped == []
    for required in ("MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta/runtime.yml",
                     "plugins/modules/sts_mfa_session.py", "plugins/module_utils/sts.py", "playbooks/clone.yml",
                     "roles/clone/meta/argument_specs.yml", "roles/clone/tasks/credentials.yml", "docs/awx.md",
                     "changelogs/changelog.yaml", "tests/unit/plugins/module_utils/test_sts.py"):
        assert required in names, required
    # ansible-builder reads the dependency files named by meta/execution-environment.yml from the tarball.
    with tarfile.open(tarball) as archive:
        ee = yaml.safe_load(archive.extractfile("meta/execution-environment.yml"))
    assert ee["version"] == 3
    assert set(ee["dependencies"]) == {"python", "system"}
    for path in ee["dependencies"].values():
        assert path in names, path


def test_the_installed_clone_playbook_runs_in_check_mode(installed, endpoint):
    _tarball, collections, work = installed
    seed_example(endpoint.session(), endpoint.url)
    endpoint.clear_calls()
    # -vv shows each task's path.
    result = run([BIN / "ansible-playbook", "mitosis.rds.clone", "-e", "source=mitosis-prod", "-e", "target=mitosis-demo",
                  "--check", "-vv"], work, clean_env(collections, endpoint.env))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    assert "12 of 12 steps pending." in out
    assert "Checked (check mode, nothing changed): mitosis-prod into mitosis-demo" in out
    # The role came from the installed copy, not from the checkout.
    assert str(collections / "ansible_collections" / "mitosis" / "rds" / "roles" / "clone") in out
    assert str(ROOT / "roles") not in out and str(ROOT / ".collections") not in out
    assert endpoint.calls() and mutating(endpoint) == []


def test_ansible_doc_renders_every_module_and_the_role(installed):
    _tarball, collections, work = installed
    env = clean_env(collections)
    root = collections / "ansible_collections" / "mitosis" / "rds"
    modules = sorted(path.stem for path in (root / "plugins" / "modules").glob("*.py"))
    assert "sts_mfa_session" in modules and len(modules) >= 4
    for module in modules:
        doc = run([BIN / "ansible-doc", "mitosis.rds." + module], work, env)
        assert doc.returncode == 0 and "[WARNING]" not in doc.stderr, (module, doc.stdout + doc.stderr)
        assert str(root) in doc.stdout
        for section in ("OPTIONS", "ATTRIBUTES:", "AUTHOR: mitosis.rds developers (@mitosis-rds)", "EXAMPLES:",
                        "RETURN VALUES:"):
            assert section in doc.stdout, (module, section)
    role = run([BIN / "ansible-doc", "-t", "role", "mitosis.rds.clone"], work, env)
    assert role.returncode == 0 and "[WARNING]" not in role.stderr, role.stdout + role.stderr
    assert str(root) in role.stdout
    for text in ("ENTRY POINT: *main*", "mitosis_source", "mitosis_role_arn", "mitosis_mfa_token",
                 "mitosis_session_duration", "EXAMPLES:", "ansible.builtin.include_role:"):
        assert text in role.stdout, text
