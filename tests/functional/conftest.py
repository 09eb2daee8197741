"""Fixtures that run real `ansible-playbook` against the embedded RDS endpoint.

One endpoint serves the session; every test starts from a reset account (speed 0 unless the test
turns the time model on) and seeds what it needs with devtools.seed. The tests that look at rows use a
second one, with the data plane (`data_endpoint`, `data_playbook`).
"""

import json
import os
import subprocess

import pytest

from devtools.rds_endpoint.testing import running_endpoint

from .helpers import ANSIBLE_PLAYBOOK, ROOT


@pytest.fixture(scope="session")
def endpoint_server():
    with running_endpoint(speed=0.0) as server:
        yield server


@pytest.fixture
def endpoint(endpoint_server):
    endpoint_server.reset()
    endpoint_server.set_speed(0.0)
    return endpoint_server


class Result:
    def __init__(self, process, endpoint_log=""):
        self.rc = process.returncode
        self.out = process.stdout + process.stderr
        self.endpoint_log = endpoint_log

    def failures(self):
        """The message of each failed task (what pytest's shortened assertion message should begin with)."""
        found = []
        for line in self.out.splitlines():
            if line.startswith(("fatal: ", "failed: ")) and " => " in line:
                detail = line.split(" => ", 1)[1]
                try:
                    detail = json.loads(detail).get("msg", detail)
                except ValueError:
                    pass
                found.append("{0}: {1}".format(line.split(" => ")[0], str(detail)[:400]))
        return found

    def __repr__(self):
        return "rc={0}\n{1}\n{2}{3}".format(
            self.rc, "\n".join(self.failures()), self.endpoint_log[-2000:], self.out[-6000:])


def runner(endpoint, tmp_path, log=None):
    """Run a playbook (a path relative to the repository) with extra vars; returns a Result.
    `env` adds to the endpoint's environment; a None value removes a variable. What the endpoint logged meanwhile
    (to the file `log`) is in the Result."""

    def run(path, extra=None, args=(), env=None, timeout=600):
        extra_file = tmp_path / "extra-vars.json"
        extra_file.write_text(json.dumps(extra or {}))
        command = [ANSIBLE_PLAYBOOK, path, "-e", "@" + str(extra_file), *args]
        environment = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", **endpoint.env)
        for key, value in (env or {}).items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        logged = log.stat().st_size if log else 0
        # No terminal: a run that would prompt (for an MFA token) must fail instead of waiting.
        process = subprocess.run(command, cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, capture_output=True,
                                 text=True, timeout=timeout, check=False)
        print(process.stdout, process.stderr)  # the whole run in the report of a test that fails
        return Result(process, log.read_bytes()[logged:].decode(errors="replace") if log else "")

    return run


@pytest.fixture
def playbook(endpoint, tmp_path):
    return runner(endpoint, tmp_path)


# The data plane (real PostgreSQL servers) only for the tests that look at rows: it is slower to seed.
@pytest.fixture(scope="session")
def data_plane_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("data-plane") / "endpoint.log"
    with running_endpoint(speed=0.0, data_plane=True, log=log) as server:
        server.log = log
        yield server


@pytest.fixture
def data_endpoint(data_plane_server):
    data_plane_server.reset()
    data_plane_server.set_speed(0.0)
    return data_plane_server


@pytest.fixture
def data_playbook(data_endpoint, tmp_path):
    return runner(data_endpoint, tmp_path, data_endpoint.log)
