"""Route 53 as AWS runs it, over moto's route53 backend: a change is PENDING until it has propagated, and (on the data
plane) a record's name is a loopback address that reaches what the record points at, as DNS clients see it.

moto answered every ChangeResourceRecordSets with the same ChangeInfo Id and INSYNC at once, and GetChange with
INSYNC for any id. Here each change gets an id of its own and is PENDING for the `dns-change` operation of the time
model (1 simulated minute, as AWS's "typically within 60 seconds"), then INSYNC.

On the data plane, every CNAME record's name (lower-cased, without the trailing dot) has an address of its own in the
names' address space (dataplane/names.py), and its listener passes each new connection on to the record's value (an
instance's Endpoint.Address, or a name): on every port that value's name listens on. A DNS client caches an answer
for the record's TTL, so, counted from when the change is INSYNC:

- CREATE (or an UPSERT of a record that did not exist): reachable at once;
- UPSERT to another value: new connections go to the OLD value until the OLD record's TTL (seconds: TTL/60 simulated
  minutes) has passed, then to the new one;
- DELETE: refused once the TTL has passed.

Connections already open are never cut by a record change.
"""

from __future__ import annotations

import copy
import secrets
import string
import sys
from typing import Any, Callable, Dict, List, Optional

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.route53.models import route53_backends
from moto.route53.responses import Route53

from .timeline import Simulation

_ALPHABET = string.ascii_uppercase + string.digits
_sim: Simulation
_plane: Any = None
# Change id (without "/change/") -> the change.
_changes: Dict[str, "Change"] = {}
# Record name -> the value the data plane forwards it to now (None: refused), and the sequence number of the change
# that set it (a later change wins over an earlier one whose TTL ends after it).
_visible: Dict[str, tuple[Optional[str], int]] = {}
_pending_switches = [0]
_pending: set = set()  # ids of the changes still PENDING
_seq = [0]
_change_records = Route53.change_resource_record_sets
_get_change = Route53.get_change


class Change:
    """One ChangeResourceRecordSets: its id, status (the time model's), and what it does to each CNAME record."""

    def __init__(self, zone: str, records: List[Dict[str, Any]]) -> None:
        self.id = "C" + "".join(secrets.choice(_ALPHABET) for _ in range(20))
        self.status = "PENDING"
        self.submitted = utcnow()
        self.timeline_name = zone  # `set_duration("dns-change", minutes, identifier=<zone id>)`
        self.records = records


def install(sim: Simulation, plane: Any = None) -> None:
    global _sim, _plane
    _sim, _plane = sim, plane
    Route53.change_resource_record_sets = _change_resource_record_sets
    Route53.get_change = _get_change_status


def reset() -> None:
    _changes.clear()
    _pending.clear()
    _visible.clear()
    _pending_switches[0] = 0


def waiting() -> bool:
    """A change is still PENDING, or a record still waits for its TTL: the data plane has something to switch."""
    return _pending_switches[0] > 0 or bool(_pending)


def record_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def is_record(name: str) -> bool:
    """`name` is a CNAME record of a hosted zone now, or one still answered from DNS caches (deleted, its TTL not
    over)."""
    name = record_name(name)
    if _visible.get(name, (None, 0))[0] is not None:
        return True
    for backend in _backends():
        for zone in backend.zones.values():
            if any(record_name(rrset.name) == name and rrset.type == "CNAME" for rrset in zone.rrsets):
                return True
    return False


def _backends() -> List[Any]:
    return [backend for account in route53_backends.values() for backend in account.values()]


def _cnames(backend: Any, zone_id: str) -> Dict[str, tuple[str, int]]:
    """The zone's CNAME records now: name -> (value, TTL)."""
    zone = backend.zones.get(zone_id.split("/")[-1])
    if zone is None:
        return {}
    return {record_name(rrset.name): (record_name(str(rrset.records[0])), int(rrset.ttl or 0))
            for rrset in zone.rrsets if rrset.type == "CNAME" and rrset.records}


def _change_resource_record_sets(self: Route53) -> ActionResult:
    zone_id = str(self._get_param("HostedZoneId")).split("/")[-1]
    batch = copy.deepcopy(self._get_param("ChangeBatch.Changes") or [])
    before = _cnames(self.backend, zone_id)
    result = _change_records(self)  # moto's change (its checks raise before anything changes)
    records = []
    for change in batch:
        record_set = change.get("ResourceRecordSet") or {}
        if record_set.get("Type") != "CNAME":
            continue
        name = record_name(str(record_set.get("Name", "")))
        values = record_set.get("ResourceRecords") or []
        old = before.get(name)
        records.append({
            "name": name,
            "action": change.get("Action"),
            "value": record_name(str(values[0]["Value"])) if values and change.get("Action") != "DELETE" else None,
            "old_value": old[0] if old else None,
            "old_ttl": old[1] if old else 0,
        })
    new = Change(zone_id, records)
    _changes[new.id] = new
    _pending.add(new.id)
    op = _sim.start("dns-change", new)
    op.final_status = "INSYNC"
    op.on_done = lambda: _in_sync(new)
    op.on_cancel = lambda: _pending.discard(new.id)
    result.result["ChangeInfo"].update(Id="/change/" + new.id, Status=new.status, SubmittedAt=new.submitted)
    return result


def _get_change_status(self: Route53) -> ActionResult:
    change_id = str(self._get_param("Id")).split("/")[-1]
    change = _changes.get(change_id)
    if change is None:  # moto's answer (a hosted zone's create or delete: INSYNC), with AWS's form of the id
        result = _get_change(self)
        result.result["ChangeInfo"]["Id"] = "/change/" + change_id
        return result
    return ActionResult({"ChangeInfo": {"Id": "/change/" + change.id, "Status": change.status,
                                        "SubmittedAt": change.submitted}})


def _in_sync(change: Change) -> None:
    """The change has reached every server: what DNS clients see follows, each record after its old TTL."""
    _pending.discard(change.id)
    if _plane is None:
        return
    for record in change.records:
        _seq[0] += 1
        seq = _seq[0]
        old, new = record["old_value"], record["value"]
        if old is None or old == new:
            _switch(record["name"], new, seq)
        else:  # cached answers (the old value) live for the old record's TTL
            _pending_switches[0] += 1
            _sim.schedule(record["old_ttl"] / 60.0, _after_ttl(record["name"], new, seq))


def _after_ttl(name: str, value: Optional[str], seq: int) -> Callable[[], None]:
    def switch() -> None:
        _pending_switches[0] -= 1
        _switch(name, value, seq)
    return switch


def _switch(name: str, value: Optional[str], seq: int) -> None:
    if _visible.get(name, (None, 0))[1] > seq:
        return  # a later change of the record has taken effect already
    _visible[name] = (value, seq)
    try:
        _plane.point_record(name, value)
    except Exception as error:  # pylint: disable=broad-except  # the data plane's: the endpoint's log shows it
        print("data plane: record {0} -> {1} failed: {2}".format(name, value, error), file=sys.stderr, flush=True)
