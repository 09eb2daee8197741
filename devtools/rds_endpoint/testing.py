"""Run the endpoint from tests: `with running_endpoint() as endpoint: endpoint.client("rds")...`."""

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60
# Talk to 127.0.0.1 directly even when the environment names an HTTP proxy.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def is_lock_call(call: dict[str, Any]) -> bool:
    """A tag call of a run's lock (mitosis.rds.rds_mitosis_lock): taken before the first change to the stack and
    released after the last, it is not part of the refresh's own calls. Any resource: an instance's ARN
    or a DB cluster's."""
    params = call.get("params") or {}
    keys = [t.get("Key", "") for t in params.get("Tags") or []] + list(params.get("TagKeys") or [])
    return call["operation"] in ("AddTagsToResource", "RemoveTagsFromResource") and bool(keys) and all(
        str(k).startswith("mitosis:lock:") for k in keys)


def aws_error(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int]:
    """Run `call(*args, **kwargs)`, which must fail with an AWS error; return (code, HTTP status)."""
    try:
        call(*args, **kwargs)
    except ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("the call succeeded; an AWS error was expected")


class ControlError(RuntimeError):
    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(f"control request failed with {status}: {payload}")
        self.status = status
        self.payload = payload


class EndpointHandle:
    """A running endpoint: its URL and environment, AWS clients bound to it, and its control API."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url = url
        self.env = env
        # The server's exit status, once the context manager has stopped it; its process id while it runs.
        self.returncode: int | None = None
        self.pid: int | None = None

    def session(self) -> boto3.Session:
        return shared_session(
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_REGION"],
        )

    def assumed_session(self, role_arn: str, session_name: str = "mitosis-tests") -> boto3.Session:
        """A session with the temporary credentials sts:AssumeRole of `role_arn` gives through the endpoint: its
        calls are made in the role's account."""
        credentials = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return shared_session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.env["AWS_REGION"],
        )

    def client(self, service: str, session: boto3.Session | None = None, **config: Any) -> Any:
        """A boto3 client bound to the endpoint (of `session`, by default the run's own credentials); `config` goes
        to botocore's Config."""
        return (session or self.session()).client(
            service, endpoint_url=self.url, config=Config(proxies={}, **config)
        )

    def control(self, method: str, route: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.url}/_mitosis/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with _NO_PROXY.open(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise ControlError(exc.code, exc.read().decode()) from None

    def calls(
        self, operation: str | None = None, since_seq: int = 0, account: str | None = None
    ) -> list[dict[str, Any]]:
        """The call record (every call, or those of `operation`, after `since_seq`, made in `account`)."""
        query = {"since_seq": since_seq, "operation": operation, "account": account}
        return self.control("GET", "calls?" + urllib.parse.urlencode({k: v for k, v in query.items() if v}))["calls"]

    def mutating_calls(self, account: str | None = None) -> list[dict[str, Any]]:
        """The mutating calls, of every account or of `account` only."""
        return [call for call in self.calls(account=account) if call["mutating"]]

    def clear_calls(self) -> None:
        self.control("DELETE", "calls")

    def add_fault(
        self,
        operation: str,
        code: str | None = None,
        nth: int = 1,
        times: int = 1,
        identifier: str | None = None,
        message: str | None = None,
        http_status: int = 400,
        status: str | None = None,
    ) -> int:
        """Fail matching calls with `code`, or (with `status`) let them succeed and leave the
        instance in that status. Returns the fault's id."""
        spec = {"operation": operation, "nth": nth, "times": times, "http_status": http_status}
        extra = {"code": code, "identifier": identifier, "message": message, "status": status}
        spec.update({k: v for k, v in extra.items() if v is not None})
        return self.control("POST", "faults", spec)["added"][0]

    def faults(self) -> list[dict[str, Any]]:
        return self.control("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def set_instance_status(self, identifier: str, status: str, account_id: str | None = None) -> None:
        self.control("POST", "instance-status", _account({"identifier": identifier, "status": status}, account_id))

    def check_password(self, identifier: str, password: str, account_id: str | None = None) -> bool:
        """Whether `password` is the instance's master password now (never shown otherwise)."""
        payload = _account({"identifier": identifier, "password": password}, account_id)
        return self.control("POST", "check-password", payload)["matches"]

    def set_cluster_status(self, identifier: str, status: str, account_id: str | None = None) -> None:
        """Put a DB cluster into `status` now (its running operation abandoned)."""
        self.control("POST", "cluster-status", _account({"identifier": identifier, "status": status}, account_id))

    def check_cluster_password(self, identifier: str, password: str, account_id: str | None = None) -> bool:
        """Whether `password` is the DB cluster's master password now (never shown otherwise)."""
        payload = _account({"identifier": identifier, "password": password}, account_id)
        return self.control("POST", "check-cluster-password", payload)["matches"]

    def automated_snapshot(self, identifier: str, cluster: bool = False, account_id: str | None = None) -> str:
        """Take an automated snapshot of an instance (or DB cluster) now, as RDS does in its backup window; its
        name."""
        payload = _account({"identifier": identifier, "cluster": cluster}, account_id)
        return self.control("POST", "automated-snapshot", payload)["snapshot"]

    def servers(self) -> dict[str, dict[str, Any]]:
        """The data plane's servers by resource id (an endpoint started with data_plane=True)."""
        return self.control("GET", "servers")["servers"]

    def resolve(self, name: str, account_id: str | None = None) -> str:
        """The address `name` has on the data plane, as a resolver answers it: a Route 53 CNAME record's name (its
        own address, whose listener passes connections on to the record's value), or a DB instance's identifier (of
        `account_id`, by default 123456789012).
        Raises ControlError (status 404) for an unknown name or without the data plane."""
        query = _account({"name": name}, account_id)
        return self.control("GET", "resolve?" + urllib.parse.urlencode(query))["address"]

    def set_speed(self, factor: float) -> None:
        self.control("POST", "speed", {"factor": factor})

    def speed(self) -> float:
        return self.control("GET", "speed")["factor"]

    def advance(self, minutes: float) -> None:
        """Move every running operation `minutes` simulated minutes forward."""
        self.control("POST", "advance", {"minutes": minutes})

    def settle(self) -> None:
        """Complete every running operation now."""
        self.control("POST", "settle", {})

    def set_duration(self, kind: str, minutes: float, identifier: str | None = None) -> None:
        """Make operations of `kind` (a key of timeline.OPERATIONS: "rename", "modify", ...) started
        from now on last `minutes` simulated minutes: on every instance, or only on the instance named
        `identifier` when the operation starts (for a rename: the old name). The instance's duration
        wins over the kind-wide one; `reset()` or `clear_durations()` drop them."""
        payload: dict[str, Any] = {"kind": kind, "minutes": minutes}
        if identifier is not None:
            payload["identifier"] = identifier
        self.control("POST", "durations", payload)

    def durations(self) -> list[dict[str, Any]]:
        """The duration overrides: [{"kind", "identifier" (None: every instance), "minutes"}]."""
        return self.control("GET", "durations")["durations"]

    def clear_durations(self) -> None:
        self.control("DELETE", "durations")

    def reset(self) -> None:
        self.control("POST", "reset", {})

    def bulk_create(self, prefix: str, count: int, **attributes: Any) -> dict[str, Any]:
        """Create `count` available instances named `{prefix}-00001`... straight in the backend."""
        payload = {"prefix": prefix, "count": count, "attributes": attributes}
        return self.control("POST", "bulk-instances", payload)


_LOADERS: list[Any] = []


def shared_session(**credentials: Any) -> boto3.Session:
    """A boto3 session with `credentials` whose service models are loaded once for every session of the process
    (a new session loads them again: ~0.1 s a client)."""
    core = botocore.session.Session()
    if _LOADERS:
        core.register_component("data_loader", _LOADERS[0])
    else:
        _LOADERS.append(core.get_component("data_loader"))
    return boto3.Session(botocore_session=core, **credentials)


def _account(payload: dict[str, Any], account_id: str | None) -> dict[str, Any]:
    return {**payload, "account_id": account_id} if account_id else payload


@contextlib.contextmanager
def running_endpoint(
    speed: float = 0.0, env: dict[str, str] | None = None, verbose: bool = False, data_plane: bool = False,
    log: Path | None = None,
) -> Iterator[EndpointHandle]:
    """Start the endpoint in a subprocess on a free 127.0.0.1 port; stop it (SIGTERM) on exit.

    `env` is added to the server's environment (e.g. MITOSIS_FAULTS, MITOSIS_MFA_CODE); its log (standard error)
    goes to the file `log`, when given.
    """
    command = [sys.executable, "-m", "devtools.rds_endpoint", "--port", "0", "--speed", str(speed)]
    if verbose:
        command.append("--verbose")
    if data_plane:
        command.append("--data-plane")
    with open(log, "ab") if log else contextlib.nullcontext() as stderr:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read_stdout, daemon=True).start()
    handle = None
    try:
        exported: dict[str, str] = {}
        while True:
            line = lines.get(timeout=START_TIMEOUT)
            if line is None:
                raise RuntimeError(f"endpoint exited with {process.wait()} before it was ready")
            if line.startswith("export "):
                key, _, value = line[len("export ") :].partition("=")
                exported[key] = value
            elif line.startswith("ready:"):
                break
        exported.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        handle = EndpointHandle(exported["AWS_ENDPOINT_URL"], exported)
        handle.pid = process.pid
        yield handle
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if handle is not None:
            handle.returncode = process.returncode
