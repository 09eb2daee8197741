"""The endpoint as a WSGI application: moto's server app, wrapped to record calls, inject faults,
check MFA codes and answer the control API under /_mitosis/."""

import io
import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.client import responses as HTTP_REASONS
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import get_service_model
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.rds.exceptions import DBInstanceAlreadyExists
from moto.rds.models import rds_backends

from . import accounts, cluster_model, rds_model, route53_model
from .dataplane import cluster as dataplane_cluster
from .dataplane import model as dataplane_model
from .dataplane.process import Client as DataPlaneClient
from .calls import ApiRequest, CallLog, parse_request
from .faults import FaultSet
from .timeline import Simulation

CONTROL_PREFIX = "/_mitosis/"
MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def error_code(self) -> str | None:
        if self.status < 400:
            return None
        match = re.search(rb"<Code>([^<]+)</Code>", self.body)
        if match:
            return match[1].decode()
        try:
            return json.loads(self.body)["__type"].split("#")[-1]
        except (ValueError, KeyError, TypeError, AttributeError):
            return "InternalFailure" if self.status >= 500 else None


class Endpoint:
    """The WSGI application: one per process, since it patches moto's (process-wide) RDS model."""

    def __init__(
        self,
        speed: float,
        faults: list[dict[str, Any]] | None = None,
        mfa_code: str = "123456",
        verbose: bool = False,
        data_plane: bool = False,
    ) -> None:
        self.sim = Simulation(speed)
        rds_model.install(self.sim)
        # Real PostgreSQL servers behind the PostgreSQL instances (dataplane/), owned by a process of their own.
        self.plane = DataPlaneClient() if data_plane else None
        if self.plane is not None:
            dataplane_model.install(self.plane, self.sim)
            dataplane_cluster.install(self.plane, self.sim)
        route53_model.install(self.sim, self.plane)
        self.calls = CallLog()
        self.faults = FaultSet()
        for spec in faults or []:
            self.faults.add(spec)
        self.mfa_code = mfa_code
        self.verbose = verbose
        # moto's backends are not thread-safe, and time must not move in the middle of a call.
        self.lock = threading.RLock()
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.routes = {
            ("GET", "calls"): self._get_calls,
            ("DELETE", "calls"): lambda body, query: _json(200, {"cleared": self.calls.clear()}),
            ("GET", "faults"): lambda body, query: _json(200, {"faults": self.faults.describe()}),
            ("POST", "faults"): self._add_faults,
            ("DELETE", "faults"): self._clear_faults,
            ("POST", "instance-status"): self._set_instance_status,
            ("GET", "speed"): lambda body, query: _json(200, {"factor": self.sim.speed}),
            ("POST", "speed"): self._set_speed,
            ("POST", "advance"): self._advance,
            ("POST", "settle"): self._settle,
            ("GET", "durations"): lambda body, query: _json(
                200, {"durations": self.sim.durations()}
            ),
            ("POST", "durations"): self._set_duration,
            ("DELETE", "durations"): self._clear_durations,
            ("POST", "reset"): self._reset,
            ("POST", "bulk-instances"): self._bulk_instances,
            ("POST", "check-password"): self._check_password,
            ("POST", "cluster-status"): self._set_cluster_status,
            ("POST", "check-cluster-password"): self._check_cluster_password,
            ("GET", "servers"): self._servers,
            ("GET", "resolve"): self._resolve,
            ("POST", "automated-snapshot"): self._automated_snapshot,
        }
        # On the data plane a DNS record switches when its time comes, requests or not (a client's cached answer
        # expires on its own): while a Route 53 change waits, the time model is ticked here too.
        self.stopping = threading.Event()
        if self.plane is not None:
            threading.Thread(target=self._tick_dns, daemon=True, name="dns-ticker").start()

    def close(self) -> None:
        """Stop the data plane's servers (the endpoint's own state dies with its process)."""
        self.stopping.set()
        if self.plane is not None:
            self.plane.close()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            response = self._control(environ, path[len(CONTROL_PREFIX) :])
        elif path.startswith("/moto-api"):
            with self.lock:
                response = _call(self.moto, environ)
        else:
            response = self._api(environ)
        reason = HTTP_REASONS.get(response.status, "Unknown")
        start_response(f"{response.status} {reason}", response.headers)
        return [response.body]

    def _api(self, environ: dict[str, Any]) -> Response:
        received = time.time()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        request = parse_request(environ, body)
        with self.lock:
            self.sim.tick()
            request.account = accounts.request_account(environ)
            fault = self.faults.hit(request)
            if fault and fault.code:
                response = _error(request, fault.code, fault.message or "", fault.http_status)
            elif self._mfa_refused(request):
                response = _error(request, "AccessDenied", MFA_FAILED, 403)
            else:
                response = _call(self.moto, environ)
                if fault and fault.status and response.status < 400:
                    # A cluster call leaves its cluster in that status, any other its instance.
                    set_status = (
                        cluster_model.set_status if request.is_cluster_call else rds_model.set_status
                    )
                    set_status(
                        fault.identifier or request.identifier or "",
                        fault.status,
                        request.region,
                        request.account,
                    )
            call = self.calls.record(request, received, response.status, response.error_code)
        if self.verbose:
            print(
                f"{call['seq']:>5} {call['operation']} {call['identifier'] or ''} "
                f"-> {call['status']} {call['error'] or ''}",
                file=sys.stderr,
                flush=True,
            )
        return response

    def _tick_dns(self) -> None:
        while not self.stopping.wait(0.02):
            try:
                with self.lock:
                    if route53_model.waiting():
                        self.sim.tick()
            except Exception as error:  # pylint: disable=broad-except  # the next request's tick shows it again
                print("dns ticker: {0}: {1}".format(type(error).__name__, error), file=sys.stderr, flush=True)

    def _mfa_refused(self, request: ApiRequest) -> bool:
        if (request.service, request.operation) != ("sts", "AssumeRole"):
            return False
        if not request.params.get("SerialNumber"):
            return False
        code = str(request.params.get("TokenCode", ""))
        return not (re.fullmatch(r"\d{6}", code) and code == self.mfa_code)

    # --- control API -------------------------------------------------------------------------

    def _control(self, environ: dict[str, Any], route: str) -> Response:
        method = environ["REQUEST_METHOD"]
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            with self.lock:
                self.sim.tick()
                handler = self.routes.get((method, route.rstrip("/")))
                if handler is None:
                    return _json(
                        404, {"error": f"no control route {method} {CONTROL_PREFIX}{route}"}
                    )
                return handler(body, query)
        except DBInstanceAlreadyExists as exc:
            return _json(409, {"error": exc.message})
        except (ValueError, TypeError, KeyError) as exc:
            return _json(400, {"error": f"{type(exc).__name__}: {exc}"})

    def _get_calls(self, body: Any, query: dict[str, str]) -> Response:
        calls = self.calls.select(query.get("operation"), int(query.get("since_seq", 0)), query.get("account"))
        return _json(200, {"calls": calls})

    def _add_faults(self, body: Any, query: dict[str, str]) -> Response:
        specs = body if isinstance(body, list) else [body]
        added = [self.faults.add(spec).id for spec in specs]
        return _json(200, {"added": added, "faults": self.faults.describe()})

    def _clear_faults(self, body: Any, query: dict[str, str]) -> Response:
        self.faults.clear()
        return _json(200, {"faults": []})

    def _set_instance_status(self, body: Any, query: dict[str, str]) -> Response:
        found = rds_model.set_status(
            body["identifier"].lower(),
            body["status"],
            body.get("region", "us-east-1"),
            body.get("account_id", DEFAULT_ACCOUNT_ID),
        )
        if not found:
            return _json(404, {"error": f"DBInstance {body['identifier']} not found"})
        return _json(200, {"identifier": body["identifier"], "status": body["status"]})

    def _servers(self, body: Any, query: dict[str, str]) -> Response:
        """The data plane's servers by resource id (where each listens, its process, whose standby it is)."""
        if self.plane is None:
            return _json(404, {"error": "no data plane: start the endpoint with --data-plane"})
        return _json(200, {"servers": self.plane.describe()})

    def _resolve(self, body: Any, query: dict[str, str]) -> Response:
        """A name's address on the data plane, as a resolver answers it: a Route 53 CNAME record's name, or a DB
        instance's identifier (its Endpoint.Address)."""
        if self.plane is None:
            return _json(404, {"error": "no data plane: start the endpoint with --data-plane"})
        name = route53_model.record_name(query["name"])
        if route53_model.is_record(name):
            return _json(200, {"name": name, "address": self.plane.address(name)})
        account = query.get("account_id", DEFAULT_ACCOUNT_ID)
        db = rds_backends[account][query.get("region", "us-east-1")].databases.get(name)
        if db is None:
            return _json(404, {"error": f"no record or instance named {name}"})
        return _json(200, {"name": name, "address": db.address})

    def _automated_snapshot(self, body: Any, query: dict[str, str]) -> Response:
        """An automated snapshot of an instance (or, with "cluster": true, a DB cluster) taken now, as RDS takes one a
        day in the backup window."""
        take = cluster_model.take_automated_snapshot if body.get("cluster") else rds_model.take_automated_snapshot
        name = take(
            body["identifier"].lower(),
            body.get("region", "us-east-1"),
            body.get("account_id", DEFAULT_ACCOUNT_ID),
        )
        if name is None:
            kind = "DBCluster" if body.get("cluster") else "DBInstance"
            return _json(404, {"error": f"{kind} {body['identifier']} not found"})
        return _json(200, {"identifier": body["identifier"], "snapshot": name})

    def _check_password(self, body: Any, query: dict[str, str]) -> Response:
        # Answers only whether it matches: the password itself never leaves the endpoint.
        if not isinstance(body["password"], str):
            raise TypeError("password must be a string")
        matches = rds_model.check_password(
            body["identifier"].lower(),
            body["password"],
            body.get("region", "us-east-1"),
            body.get("account_id", DEFAULT_ACCOUNT_ID),
        )
        if matches is None:
            return _json(404, {"error": f"DBInstance {body['identifier']} not found"})
        return _json(200, {"identifier": body["identifier"], "matches": matches})

    def _set_cluster_status(self, body: Any, query: dict[str, str]) -> Response:
        found = cluster_model.set_status(
            body["identifier"].lower(),
            body["status"],
            body.get("region", "us-east-1"),
            body.get("account_id", DEFAULT_ACCOUNT_ID),
        )
        if not found:
            return _json(404, {"error": f"DBCluster {body['identifier']} not found"})
        return _json(200, {"identifier": body["identifier"], "status": body["status"]})

    def _check_cluster_password(self, body: Any, query: dict[str, str]) -> Response:
        if not isinstance(body["password"], str):
            raise TypeError("password must be a string")
        matches = cluster_model.check_password(
            body["identifier"].lower(),
            body["password"],
            body.get("region", "us-east-1"),
            body.get("account_id", DEFAULT_ACCOUNT_ID),
        )
        if matches is None:
            return _json(404, {"error": f"DBCluster {body['identifier']} not found"})
        return _json(200, {"identifier": body["identifier"], "matches": matches})

    def _set_speed(self, body: Any, query: dict[str, str]) -> Response:
        factor = float(body["factor"])
        if factor < 0:
            raise ValueError("speed factor must be >= 0")
        self.sim.set_speed(factor)
        return _json(200, {"factor": factor})

    def _advance(self, body: Any, query: dict[str, str]) -> Response:
        self.sim.advance(float(body["minutes"]))
        return _json(200, {"advanced_minutes": float(body["minutes"])})

    def _settle(self, body: Any, query: dict[str, str]) -> Response:
        self.sim.settle()
        return _json(200, {"settled": True})

    def _set_duration(self, body: Any, query: dict[str, str]) -> Response:
        identifier = body.get("identifier")
        if identifier is not None and not isinstance(identifier, str):
            raise ValueError("identifier must be a string or null")
        self.sim.set_duration(body["kind"], float(body["minutes"]), identifier)
        return _json(200, {"durations": self.sim.durations()})

    def _clear_durations(self, body: Any, query: dict[str, str]) -> Response:
        self.sim.clear_durations()
        return _json(200, {"durations": []})

    def _reset(self, body: Any, query: dict[str, str]) -> Response:
        moto_api_backend.reset()
        self.sim.reset()
        if self.plane is not None:
            self.plane.reset()
        route53_model.reset()
        self.calls.clear()
        self.faults.clear()
        return _json(200, {"reset": True})

    def _bulk_instances(self, body: Any, query: dict[str, str]) -> Response:
        started = time.perf_counter()
        names = rds_model.bulk_create(
            body["prefix"],
            int(body["count"]),
            body.get("region", "us-east-1"),
            body.get("account_id", DEFAULT_ACCOUNT_ID),
            **body.get("attributes", {}),
        )
        return _json(
            200,
            {"created": len(names), "first": names[:1], "seconds": time.perf_counter() - started},
        )


def _call(app: Any, environ: dict[str, Any]) -> Response:
    captured: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured.update(status=int(status.split()[0]), headers=headers)
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return Response(captured["status"], captured["headers"], b"".join(chunks))


def _error(request: ApiRequest, code: str, message: str, status: int) -> Response:
    """An error in the shape the request's protocol uses, so that botocore parses (and retries) it."""
    request_id = str(uuid.uuid4())
    fault_type = "Receiver" if status >= 500 else "Sender"
    extra: list[tuple[str, str]] = []
    if request.protocol == "json":
        body = json.dumps({"__type": code, "message": message})
        content_type = "application/x-amz-json-1.1"
    elif request.protocol == "rest-json":  # RAM: botocore reads the code from x-amzn-ErrorType
        body = json.dumps({"__type": code, "message": message})
        content_type = "application/json"
        extra.append(("x-amzn-ErrorType", code))
    elif request.protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{escape(message)}"
            f"</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        content_type = "text/xml"
    else:
        try:
            namespace = get_service_model(request.service).metadata.get("xmlNamespace", "")
        except Exception:  # a service botocore does not know
            namespace = ""
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault_type}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        content_type = "text/xml"
    response = _raw(status, body.encode(), content_type, request_id)
    response.headers.extend(extra)
    return response


def _json(status: int, payload: Any) -> Response:
    return _raw(status, json.dumps(payload).encode(), "application/json")


def _raw(status: int, body: bytes, content_type: str, request_id: str | None = None) -> Response:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if request_id:
        headers.append(("x-amzn-RequestId", request_id))
    return Response(status, headers, body)
