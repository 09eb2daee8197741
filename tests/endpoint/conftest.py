"""Fixtures for the endpoint's tests.

`endpoint` is the embedded endpoint (one server for the session, reset before each test).
`api` runs a test twice: against the endpoint, and against plain moto, where it must fail
(strict xfail): each such test shows a departure of moto from AWS that the endpoint corrects.
"""

import json
import time
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.rds_endpoint.testing import EndpointHandle, running_endpoint

# Seconds per simulated minute that keep an operation running for the length of a test.
HOLD = 1000.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_CLIENTS: dict[tuple[str, str], Any] = {}


@pytest.fixture(scope="session")
def endpoint_server() -> Any:
    with running_endpoint(speed=0.0) as server:
        yield server


# What the environment configures at start: faults, and the MFA code AssumeRole wants.
START_FAULTS = [
    {"operation": "GetCallerIdentity", "code": "ExpiredToken", "http_status": 403},
    {"operation": "DescribeDBInstances", "code": "Throttling", "nth": 2},
]
START_MFA_CODE = "424242"


@pytest.fixture(scope="session")
def configured_endpoint() -> Any:
    env = {"MITOSIS_FAULTS": json.dumps(START_FAULTS), "MITOSIS_MFA_CODE": START_MFA_CODE}
    with running_endpoint(env=env) as server:
        yield server


@pytest.fixture
def endpoint(endpoint_server: EndpointHandle) -> EndpointHandle:
    endpoint_server.reset()
    endpoint_server.set_speed(0.0)
    return endpoint_server


@pytest.fixture
def endpoint_api(endpoint: EndpointHandle) -> "Api":
    return Api(endpoint.url, endpoint)


@pytest.fixture(scope="session")
def plain_server() -> Any:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield server
    server.stop()


class Api:
    """AWS clients for one test, plus the few controls a test needs that plain moto ignores."""

    def __init__(self, url: str, endpoint: EndpointHandle | None) -> None:
        self.url = url
        self.endpoint = endpoint
        self.rds = self.client("rds")

    def client(self, service: str) -> Any:
        """A client that does not retry, so that a failure shows at once; cached: they are slow to make."""
        key = (self.url, service)
        if key not in _CLIENTS:
            session = boto3.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            )
            config = Config(proxies={}, retries={"total_max_attempts": 1})
            _CLIENTS[key] = session.client(service, endpoint_url=self.url, config=config)
        return _CLIENTS[key]

    def hold(self) -> None:
        """From now on, operations keep running until `settle`."""
        if self.endpoint:
            self.endpoint.set_speed(HOLD)

    def settle(self) -> None:
        if self.endpoint:
            self.endpoint.settle()

    def primary(self, name: str, engine: str = "mysql", **attributes: Any) -> dict[str, Any]:
        attributes = {
            "DBInstanceClass": "db.t3.micro",
            "EngineVersion": "8.0.35" if engine == "mysql" else "15.4",
            "AllocatedStorage": 20,
            "BackupRetentionPeriod": 1,
            "MasterUsername": "mitosis",
            "MasterUserPassword": "not-a-real-password",
            **attributes,
        }
        self.rds.create_db_instance(DBInstanceIdentifier=name, Engine=engine, **attributes)
        self.settle()
        return self.describe(name)

    def replica(self, name: str, source: str, **attributes: Any) -> dict[str, Any]:
        self.rds.create_db_instance_read_replica(
            DBInstanceIdentifier=name, SourceDBInstanceIdentifier=source, **attributes
        )
        self.settle()
        return self.describe(name)

    def rename(self, name: str, new_name: str) -> None:
        self.rds.modify_db_instance(
            DBInstanceIdentifier=name, NewDBInstanceIdentifier=new_name, ApplyImmediately=True
        )
        self.settle()

    def describe(self, name: str) -> dict[str, Any]:
        return self.rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]

    def exists(self, name: str) -> bool:
        try:
            self.describe(name)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "DBInstanceNotFound"
            return False
        return True

    def statuses(self, name: str, until: str = "available", timeout: float = 10) -> list[str]:
        """Poll `name` and return the statuses it went through, until `until` (deduplicated)."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.describe(name)["DBInstanceStatus"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == until:
                break
        return seen


@pytest.fixture(
    params=[
        "endpoint",
        pytest.param(
            "plain",
            marks=pytest.mark.xfail(strict=True, reason="plain moto departs from AWS here"),
        ),
    ]
)
def api(request: pytest.FixtureRequest) -> Api:
    if request.param == "endpoint":
        endpoint = request.getfixturevalue("endpoint")
        return Api(endpoint.url, endpoint)
    host, port = request.getfixturevalue("plain_server").get_host_and_port()
    url = f"http://{host}:{port}"
    _NO_PROXY.open(urllib.request.Request(f"{url}/moto-api/reset", data=b"", method="POST"))
    return Api(url, None)
