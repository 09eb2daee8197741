"""Injected faults: fail chosen calls with an AWS error, or leave an instance in a chosen status."""

import itertools
from dataclasses import asdict, dataclass
from typing import Any

from .calls import ApiRequest

_DEFAULT_MESSAGES = {
    "Throttling": "Rate exceeded",
    "ThrottlingException": "Rate exceeded",
}


@dataclass
class Fault:
    operation: str
    # Either `code` (the call fails with this AWS error) or `status` (the call succeeds and its
    # instance is left in this status, as if the operation had failed on AWS's side).
    code: str | None = None
    status: str | None = None
    message: str | None = None
    http_status: int = 400
    nth: int = 1  # first matching call affected, counted from when the fault was added
    times: int = 1  # consecutive matching calls affected
    identifier: str | None = None
    # Only calls made in this account (None: any).
    account: str | None = None
    id: int = 0
    seen: int = 0  # matching calls so far

    def __post_init__(self) -> None:
        if (self.code is None) == (self.status is None):
            raise ValueError("a fault needs exactly one of 'code' and 'status'")
        if self.nth < 1 or self.times < 1:
            raise ValueError("'nth' and 'times' start at 1")
        if self.identifier:
            self.identifier = self.identifier.lower()
        if self.code and not self.message:
            self.message = _DEFAULT_MESSAGES.get(self.code, f"Injected fault: {self.code}")

    def matches(self, request: ApiRequest) -> bool:
        return (
            self.operation == request.operation
            # Compared without case: a Route 53 call's identifier is its hosted zone's id, in upper case.
            and (self.identifier is None or self.identifier == (request.identifier or "").lower())
            and (self.account is None or self.account == request.account)
        )

    @property
    def spent(self) -> bool:
        return self.seen >= self.nth + self.times - 1


class FaultSet:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> Fault:
        fault = Fault(**{k: v for k, v in spec.items() if k not in ("id", "seen")})
        fault.id = next(self._ids)
        self._faults.append(fault)
        return fault

    def hit(self, request: ApiRequest) -> Fault | None:
        """Count the call against every fault it matches; return the first one it triggers."""
        triggered = None
        for fault in self._faults:
            if fault.spent or not fault.matches(request):
                continue
            fault.seen += 1
            if fault.seen >= fault.nth and triggered is None:
                triggered = fault
        return triggered

    def describe(self) -> list[dict[str, Any]]:
        return [{**asdict(fault), "spent": fault.spent} for fault in self._faults]

    def clear(self) -> None:
        self._faults.clear()
