"""Credentials through ansible-playbook against the embedded endpoint: the MFA assume-role of the clone role
(a good, a refused, a malformed and a missing token, the prompt on a terminal, expiry mid-run), the
environment variables AWX injects, and module_defaults on the action group."""

import collections
import json
import os
import pty
import re
import select
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config

from devtools.rds_endpoint.testing import running_endpoint
from devtools.seed import seed_example

from .helpers import ANSIBLE_PLAYBOOK, ROOT, clone_vars, mutating

ROLE = "arn:aws:iam::123456789012:role/mitosis-refresh"
DEVICE = "arn:aws:iam::123456789012:mfa/alice"
# Not the endpoint's default (123456, part of the account id): a code that can be searched for in the output.
CODE = "480913"
CHECK = ["--check"]


@pytest.fixture(scope="module")
def endpoint_server():
    with running_endpoint(speed=0.0, env={"MITOSIS_MFA_CODE": CODE}) as server:
        yield server


def mfa_vars(token=CODE, **extra):
    return clone_vars(role_arn=ROLE, mfa_serial=DEVICE, mfa_token=token, **extra)


def caller(endpoint, access_key):
    """Who AWS (moto) takes a request signed with `access_key` for: the call record shows no credentials."""
    sts = boto3.client("sts", endpoint_url=endpoint.url, region_name="us-east-1", aws_access_key_id=access_key,
                       aws_secret_access_key="unused", config=Config(proxies={}))
    return sts.get_caller_identity()["Arn"]


def module_args(out, name):
    """Every value of a module argument in the invocations that -vvv prints."""
    return re.findall(r'"{0}": ("[^"]*"|null)'.format(name), out)


def operations(endpoint):
    return [(c["service"], c["operation"], c["error"]) for c in endpoint.calls()]


def test_a_good_token_assumes_the_role_once_and_every_rds_call_uses_its_credentials(endpoint, playbook):
    seed_example(endpoint.session(), endpoint.url)
    endpoint.clear_calls()
    result = playbook("playbooks/clone.yml", mfa_vars(), args=["-vvv"])
    assert result.rc == 0, result
    assert "Cloned mitosis-prod into mitosis-demo" in result.out
    calls = endpoint.calls()
    assert [(c["service"], c["operation"]) for c in calls][0] == ("sts", "AssumeRole")
    assert [c["operation"] for c in calls].count("AssumeRole") == 1
    assume = calls[0]
    assert assume["error"] is None and assume["params"] == {
        "RoleArn": ROLE, "RoleSessionName": "mitosis-rds", "SerialNumber": DEVICE, "TokenCode": "****",
        "DurationSeconds": 43200}
    assert len([c for c in mutating(endpoint) if c["service"] == "rds"]) == 11
    keys = set(module_args(result.out, "access_key"))
    # The plan, the copy and swap, and the cleanup: each module run shows the same temporary key.
    assert len(keys) == 1 and len(module_args(result.out, "access_key")) >= 3, keys
    assert caller(endpoint, keys.pop().strip('"')) == "arn:aws:sts::123456789012:assumed-role/mitosis-refresh/mitosis-rds"
    for secret in ("secret_key", "session_token"):
        assert set(module_args(result.out, secret)) == {'"VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"'}
    assert CODE not in result.out
    assert "the temporary credentials expire at" in result.out


def test_a_refused_token_fails_before_any_rds_call(endpoint, playbook):
    seed_example(endpoint.session(), endpoint.url)
    endpoint.clear_calls()
    result = playbook("playbooks/clone.yml", mfa_vars("654321"))
    assert result.rc != 0, result
    assert "The MFA token was refused" in result.out
    assert "Retry with a fresh code from the MFA device " + DEVICE in result.out
    assert operations(endpoint) == [("sts", "AssumeRole", "AccessDenied")]


@pytest.mark.parametrize("token", ["48091", "4809133", "48O913"])
def test_a_token_that_is_not_6_digits_fails_before_any_call(endpoint, playbook, token):
    result = playbook("playbooks/clone.yml", mfa_vars(token), args=CHECK)
    assert result.rc != 0, result
    assert "The MFA token must be exactly 6 digits" in result.out
    assert endpoint.calls() == []


@pytest.mark.parametrize("awx", [{}, {"awx_job_id": 42}], ids=["no-terminal", "awx-job"])
def test_without_a_token_or_a_terminal_it_says_how_to_pass_one(endpoint, playbook, awx):
    result = playbook("playbooks/clone.yml", dict(mfa_vars(""), **awx), args=CHECK)
    assert result.rc != 0, result
    assert "needs the current code of the MFA device " + DEVICE in result.out
    assert "-e mitosis_mfa_token=<code>" in result.out and "survey" in result.out
    # In AWX the prompt is not even tried: its pseudo-terminal would make it wait until the job times out.
    assert ("Not waiting for response to prompt" in result.out) == (not awx)
    assert endpoint.calls() == []


def test_without_a_device_it_says_which_variable_is_missing(endpoint, playbook):
    result = playbook("playbooks/clone.yml", clone_vars(role_arn=ROLE, mfa_token=CODE), args=CHECK)
    assert result.rc != 0, result
    assert "needs the MFA device as well" in result.out and "-e mitosis_mfa_serial=" in result.out
    assert endpoint.calls() == []


def run_on_a_terminal(command, env, answer, timeout=300):
    """Run `command` with a pseudo-terminal as its controlling terminal; type `answer` at the prompt."""
    master, slave = pty.openpty()
    # A new session's leader that opens a terminal makes it its controlling terminal; done in the child by
    # a tiny wrapper rather than a preexec_fn, which is unsafe in the threaded pytest-xdist worker.
    take_the_terminal = "import os, sys; os.close(os.open(os.ttyname(0), os.O_RDWR)); os.execv(sys.argv[1], sys.argv[1:])"
    process = subprocess.Popen([sys.executable, "-c", take_the_terminal, *command], cwd=ROOT, env=env, stdin=slave,
                               stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out, answered, deadline = b"", False, time.time() + timeout
    try:
        while time.time() < deadline:
            if not select.select([master], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal is closed once the process is gone
                break
            if not chunk:
                break
            out += chunk
            if not answered and b"(output is hidden):" in out:
                time.sleep(1)  # the prompt flushes pending input once it is set up
                os.write(master, answer + b"\r")
                answered = True
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        os.close(master)
    return process.returncode, out.decode("utf-8", "replace")


def test_on_a_terminal_it_asks_for_the_token(endpoint, tmp_path):
    seed_example(endpoint.session(), endpoint.url)
    endpoint.clear_calls()
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(mfa_vars("")))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", **endpoint.env)
    rc, out = run_on_a_terminal([ANSIBLE_PLAYBOOK, "playbooks/clone.yml", "-e", "@" + str(extra), "--check"], env,
                                CODE.encode())
    assert rc == 0, out[-6000:]
    assert "One-time code of the MFA device " + DEVICE + ", to assume " + ROLE in out
    assert CODE not in out
    assert operations(endpoint)[0] == ("sts", "AssumeRole", None)
    assert [c for c in endpoint.calls() if c["service"] == "rds" and c["mutating"]] == []


def test_credentials_that_expire_mid_run_say_to_get_a_fresh_code_and_resume(endpoint, playbook):
    seed_example(endpoint.session(), endpoint.url)
    endpoint.clear_calls()
    endpoint.add_fault("PromoteReadReplica", code="ExpiredToken", message="The security token included in the "
                       "request is expired", http_status=400)
    result = playbook("playbooks/clone.yml", mfa_vars())
    assert result.rc != 0, result
    assert "credentials expired" in result.out and "a new MFA token" in result.out
    again = playbook("playbooks/clone.yml", mfa_vars())
    assert again.rc == 0, again
    assert [c["operation"] for c in endpoint.calls()].count("AssumeRole") == 2
    created = collections.Counter(c["identifier"] for c in endpoint.calls()
                                  if c["operation"] == "CreateDBInstanceReadReplica" and not c["error"])
    assert created == {"temp-mitosis-demo": 1, "temp-mitosis-demo-replica": 1}


def test_the_environment_awx_injects_is_honoured(endpoint, playbook):
    seed_example(endpoint.session(), endpoint.url)
    endpoint.clear_calls()
    # An AWX "Amazon Web Services" credential: the key pair, and the STS token as AWS_SECURITY_TOKEN.
    awx = {"AWS_ACCESS_KEY_ID": "AKIAAWXINJECTED00001", "AWS_SECRET_ACCESS_KEY": "awx-injected-secret",
           "AWS_SECURITY_TOKEN": "awx-injected-session-token", "AWS_SESSION_TOKEN": None}
    result = playbook("playbooks/clone.yml", clone_vars(), args=CHECK + ["-vvv"], env=awx)
    assert result.rc == 0, result
    assert set(module_args(result.out, "access_key")) == {'"AKIAAWXINJECTED00001"'}
    assert set(module_args(result.out, "session_token")) == {'"VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"'}
    assert "awx-injected-secret" not in result.out and "awx-injected-session-token" not in result.out
    assert mutating(endpoint) == []


def test_module_defaults_on_the_action_group_reach_every_module_and_the_role(endpoint, playbook):
    seed_example(endpoint.session(), endpoint.url)
    endpoint.clear_calls()
    # The environment points elsewhere (a closed local port, another region): only module_defaults lead here.
    elsewhere = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-west-3"}
    result = playbook("tests/functional/playbooks/module_defaults.yml",
                      dict(mfa_vars(), endpoint=endpoint.url), args=CHECK, env=elsewhere)
    assert result.rc == 0, result
    calls = endpoint.calls()
    assert {c["region"] for c in calls} == {"us-east-1"}
    assert all(c["error"] is None for c in calls), [c for c in calls if c["error"]]
    # Each module of the play, then the role (its own MFA session, then its plan and every step, in check mode).
    assert [c["operation"] for c in calls].count("AssumeRole") == 2
    assert [c for c in calls if c["service"] == "rds" and c["mutating"]] == []
    assert "Cloned" in result.out or "Checked (check mode, nothing changed)" in result.out


def test_the_awx_play_runs_with_the_survey_and_the_injected_credential(endpoint, playbook):
    seed_example(endpoint.session(), endpoint.url)
    endpoint.clear_calls()
    survey = json.loads((ROOT / "docs" / "awx-survey.json").read_text())
    answers = {question["variable"]: question["default"] for question in survey["spec"]}
    # Every survey answer is an option the clone play (which awx/refresh.yml imports) hands to the role.
    options = (ROOT / "playbooks" / "tasks" / "options.yml").read_text()
    assert all(re.search(r"^    mitosis_%s: " % variable, options, re.M) for variable in answers), answers
    # What docs/awx.md puts in the template: the role and device, the region in mitosis_aws; AWX adds awx_job_id.
    template = {"role_arn": ROLE, "mfa_serial": DEVICE, "mitosis_aws": {"region": "us-east-1"}, "awx_job_id": 42}
    awx = {"AWS_ACCESS_KEY_ID": "AKIAAWXINJECTED00001", "AWS_SECRET_ACCESS_KEY": "awx-injected-secret",
           "AWS_REGION": None, "AWS_DEFAULT_REGION": None}
    result = playbook("awx/refresh.yml", dict(answers, mfa_token=CODE, poll_interval=0.05, **template), args=CHECK,
                      env=awx)
    assert result.rc == 0, result
    assert "Checked (check mode, nothing changed): mitosis-prod into mitosis-demo" in result.out
    assert operations(endpoint)[0] == ("sts", "AssumeRole", None)
    assert {c["region"] for c in endpoint.calls()} == {"us-east-1"}
    assert [c for c in endpoint.calls() if c["service"] == "rds" and c["mutating"]] == []

