"""What an incoming AWS API request is (service, operation, parameters), and the record of every call."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.parse import EC2QueryParser, QueryParser, RestJSONParser, RestXMLParser
from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model

_SECRET = re.compile(r"password|secret|sessiontoken|tokencode", re.IGNORECASE)
_READ_ONLY = ("Describe", "List", "Get", "Download", "Search", "Lookup")
# KMS operations that use a key without changing anything (CreateKey, PutKeyPolicy, CreateGrant, ... do).
_KMS_USES = ("Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
             "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom", "GenerateMac",
             "VerifyMac", "Sign", "Verify", "DeriveSharedSecret")
_DB_ARN = re.compile(r"^arn:[^:]+:rds:[^:]*:[^:]*:db:(?P<name>.+)$")
_CLUSTER_ARN = re.compile(r"^arn:[^:]+:rds:[^:]*:[^:]*:cluster:(?P<name>.+)$")
_QUERY_PARSERS = {"query": QueryParser, "ec2": EC2QueryParser}
# REST protocols: the operation is the one whose method and URI match the request's (Route 53, RAM).
_REST_PARSERS = {"rest-xml": RestXMLParser, "rest-json": RestJSONParser}
_IDENTIFIERS = (
    "DBInstanceIdentifier",
    "TargetDBInstanceIdentifier",
    "DBClusterIdentifier",
    "TargetDBSnapshotIdentifier",
    "DBSnapshotIdentifier",
    "TargetDBClusterSnapshotIdentifier",
    "DBClusterSnapshotIdentifier",
)


@dataclass
class ApiRequest:
    service: str
    region: str
    operation: str | None
    protocol: str
    # Parameters as typed by the service's botocore model (the raw form fields if it has none).
    params: dict[str, Any]
    # The account the call is made in (its credentials'; accounts.request_account).
    account: str = DEFAULT_ACCOUNT_ID

    @property
    def identifier(self) -> str | None:
        """The instance the call is about, else the cluster (a member's create names its instance); for Route 53, the
        hosted zone's id (without `/hostedzone/`)."""
        if self.service == "route53":
            return _zone_id(self.operation, self.params)
        if self.service == "kms":
            key = self.params.get("KeyId") or self.params.get("TargetKeyId")
            return str(key) if key else None
        if self.service == "ram":
            return _share_id(self.params)
        # A point-in-time restore names the instance it creates TargetDBInstanceIdentifier; a call about a snapshot
        # alone (a copy, a share, a delete) is about the snapshot (a copy: the one it makes).
        for key in _IDENTIFIERS:
            if key in self.params:
                return str(self.params[key]).lower()
        resource = str(self.params.get("ResourceName", ""))
        match = _DB_ARN.match(resource) or _CLUSTER_ARN.match(resource)
        return match["name"].lower() if match else None

    @property
    def cluster(self) -> str | None:
        """The DB cluster the call names (DBClusterIdentifier, or a cluster ARN in ResourceName)."""
        if "DBClusterIdentifier" in self.params:
            return str(self.params["DBClusterIdentifier"]).lower()
        match = _CLUSTER_ARN.match(str(self.params.get("ResourceName", "")))
        return match["name"].lower() if match else None

    @property
    def is_cluster_call(self) -> bool:
        """A call about a cluster itself, not one of its instances."""
        return self.cluster is not None and "DBInstanceIdentifier" not in self.params

    @property
    def mutating(self) -> bool:
        if self.service == "kms" and self.operation in _KMS_USES:
            return False
        return bool(self.operation) and not self.operation.startswith(_READ_ONLY)


def parse_request(environ: dict[str, Any], body: bytes) -> ApiRequest:
    service, region = _credential_scope(environ.get("HTTP_AUTHORIZATION", ""))
    fields = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        fields.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = fields.pop("Action", None) or (target.rsplit(".", 1)[-1] if target else None)
    fields.pop("Version", None)
    protocol = "unknown"
    params: dict[str, Any] = fields
    try:
        model = get_service_model(service)
        protocol = model.protocol
        if operation and protocol in _QUERY_PARSERS:
            parser = _QUERY_PARSERS[protocol](model.operation_model(operation), map_type=dict)
            params = parser.parse({"values": fields})
        elif protocol == "json" and body:
            params = json.loads(body)
        elif protocol in _REST_PARSERS and not operation:
            operation, params = _parse_rest(service, environ, body, _REST_PARSERS[protocol])
    except Exception:  # an operation or service botocore does not model: keep the raw fields
        pass
    return ApiRequest(service, region, operation, protocol, params)


def _parse_rest(service: str, environ: dict[str, Any], body: bytes, parser_class: Any) -> tuple[str, dict[str, Any]]:
    """A REST-XML (Route 53) or REST-JSON (RAM) request: the operation whose `http.method` and `http.requestUri` match
    the request's, and its parameters (URI labels by their member names, e.g. `Id` as `HostedZoneId`; the query
    string, e.g. RAM's `resourceShareArn` of DeleteResourceShare; the XML or JSON body)."""
    request = Request(environ)
    operation, uri_params = get_service_router(service).match(request)
    parser = parser_class(operation, map_type=dict)
    params = parser.parse({"method": request.method, "values": request.args, "headers": request.headers,
                           "body": body, "url_path": request.path, "url_params": uri_params})
    return operation.name, params


def _zone_id(operation: str | None, params: dict[str, Any]) -> str | None:
    """The hosted zone a Route 53 call names (`HostedZoneId`, or the `Id` of a call about a hosted zone)."""
    zone = params.get("HostedZoneId")
    if zone is None and operation and "HostedZone" in operation:
        zone = params.get("Id")
    return str(zone).rsplit("/", 1)[-1] if zone else None


def _share_id(params: dict[str, Any]) -> str | None:
    """The resource share a RAM call names: its ARN (`resourceShareArn`), else its `name`, else the first of its
    `resourceShareArns`."""
    share = params.get("resourceShareArn") or params.get("name") or next(iter(params.get("resourceShareArns") or []),
                                                                          None)
    return str(share) if share else None


class CallLog:
    def __init__(self) -> None:
        self._calls: list[dict[str, Any]] = []
        self._seq = 0

    def record(
        self, request: ApiRequest, received: float, http_status: int, error: str | None
    ) -> dict[str, Any]:
        self._seq += 1
        call = {
            "seq": self._seq,
            "time": received,
            "service": request.service,
            "region": request.region,
            "account": request.account,
            "operation": request.operation,
            "identifier": request.identifier,
            "new_identifier": _lower(
                _first(request.params, "NewDBInstanceIdentifier", "NewDBClusterIdentifier")
            ),
            "source": _lower(
                _first(request.params, "SourceDBInstanceIdentifier", "SourceDBClusterIdentifier")
            ),
            "cluster": request.cluster,
            "params": _masked(request.params),
            "status": http_status,
            "error": error,
            "mutating": request.mutating,
        }
        self._calls.append(call)
        return call

    def select(
        self, operation: str | None = None, since_seq: int = 0, account: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            call
            for call in self._calls
            if call["seq"] > since_seq
            and (operation is None or call["operation"] == operation)
            and (account is None or call["account"] == account)
        ]

    def clear(self) -> int:
        cleared = len(self._calls)
        self._calls.clear()
        return cleared


def _credential_scope(authorization: str) -> tuple[str, str]:
    # AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/rds/aws4_request, SignedHeaders=...
    match = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/", authorization)
    return (match[2], match[1]) if match else ("unknown", "us-east-1")


def _first(params: dict[str, Any], *keys: str) -> Any:
    return next((params[key] for key in keys if key in params), None)


def _lower(value: Any) -> str | None:
    return str(value).lower() if value is not None else None


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "****" if _SECRET.search(k) else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
