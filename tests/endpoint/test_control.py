"""The control API, the command line, and how the endpoint starts and stops."""

import signal
import subprocess
import sys

import pytest

from devtools.rds_endpoint.testing import REPO_ROOT, ControlError, running_endpoint


def test_speed_can_be_read_and_set(endpoint):
    endpoint.set_speed(0.25)
    assert endpoint.speed() == 0.25
    with pytest.raises(ControlError) as caught:
        endpoint.set_speed(-1)
    assert caught.value.status == 400


def test_reset_clears_instances_calls_faults_and_timelines(endpoint_api, endpoint):
    endpoint_api.primary("db")
    endpoint_api.hold()
    endpoint_api.rds.reboot_db_instance(DBInstanceIdentifier="db")
    endpoint.add_fault("DescribeDBInstances", "Throttling")
    endpoint.reset()
    assert endpoint.calls() == [] and endpoint.faults() == []
    assert endpoint_api.rds.describe_db_instances()["DBInstances"] == []
    assert endpoint.speed() == 1000  # the speed is kept


def test_unknown_control_route(endpoint):
    with pytest.raises(ControlError) as caught:
        endpoint.control("GET", "nothing-here")
    assert caught.value.status == 404


def test_bulk_instances_refuse_taken_names(endpoint):
    endpoint.bulk_create("taken", 2)
    with pytest.raises(ControlError) as caught:
        endpoint.bulk_create("taken", 3)
    assert caught.value.status == 409


def test_the_environment_to_export(endpoint):
    assert endpoint.url.startswith("http://127.0.0.1:")
    assert endpoint.env["AWS_ENDPOINT_URL"] == endpoint.url
    assert endpoint.env["AWS_ACCESS_KEY_ID"] == "testing"
    assert endpoint.env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert endpoint.env["AWS_REGION"] == "us-east-1"


def test_it_listens_on_the_loopback_address_only(endpoint):
    port = int(endpoint.url.rsplit(":", 1)[1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    listening.append(address)
    assert listening == ["0100007F"]  # 127.0.0.1


def test_the_command_line_refuses_other_hosts():
    refused = subprocess.run(
        [sys.executable, "-m", "devtools.rds_endpoint", "--host", "0.0.0.0", "--port", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0" in refused.stderr


def test_sigterm_stops_it_cleanly():
    with running_endpoint() as endpoint:
        endpoint.client("rds").describe_db_instances()
    assert endpoint.returncode == 0


def test_sigint_stops_it_cleanly():
    server = subprocess.Popen(
        [sys.executable, "-m", "devtools.rds_endpoint", "--port", "0", "--speed", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    for line in server.stdout:
        if line.startswith("ready:"):
            break
    server.send_signal(signal.SIGINT)
    remaining, _ = server.communicate(timeout=30)
    assert server.returncode == 0
    assert remaining.strip() == "stopped"
