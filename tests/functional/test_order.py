"""The order guarantees of the dataflow, shown by the order of API calls on the endpoint (time model on),
never by timings: one instance is made much slower than the others with the endpoint's duration override."""

from devtools.seed import seed_cascade

from .helpers import mutating
from .test_clone import assert_refreshed, restarts, run_clone, seeded

SPEED = 0.01  # real seconds per simulated minute


def calls(endpoint):
    """(operation, identifier, new identifier) of every accepted mutating call, in order."""
    return [(c["operation"], c["identifier"], c["new_identifier"]) for c in mutating(endpoint) if not c["error"]]


def test_a_name_is_taken_over_before_other_names_have_finished_moving_aside(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    endpoint.set_speed(SPEED)
    endpoint.set_duration("rename", 300, identifier="mitosis-demo")
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log)
    assert result.rc == 0, result
    order = calls(endpoint)
    demo_out = order.index(("ModifyDBInstance", "mitosis-demo", "old-mitosis-demo"))
    replica_in = order.index(("ModifyDBInstance", "temp-mitosis-demo-replica", "mitosis-demo-replica"))
    demo_in = order.index(("ModifyDBInstance", "temp-mitosis-demo", "mitosis-demo"))
    # The replica's name was taken over while mitosis-demo was still moving aside (its name still held).
    assert demo_out < replica_in < demo_in
    # The restart came only once every name was back, each on its clone, and before any delete.
    first = restarts(log)[0]
    for name in before["targets"]:
        assert first["instances"][name]["status"] == "available"
        assert first["instances"][name]["resource_id"] != before["resource_ids"][name]
    assert_refreshed(endpoint, before)


def test_a_step_starts_before_an_unrelated_slower_step_of_the_same_depth_ends(endpoint, playbook, tmp_path):
    before = seeded(endpoint, seed_cascade)
    endpoint.set_speed(SPEED)
    endpoint.set_duration("create-replica", 200, identifier="temp-mitosis-demo-r2")
    result = run_clone(playbook, tmp_path / "restarts.jsonl")
    assert result.rc == 0, result
    order = calls(endpoint)
    # temp-mitosis-demo-r1's replica (one level deeper) is created before temp-mitosis-demo-r2, created at the
    # same time as temp-mitosis-demo-r1, has finished its slow creation (its own modify follows that).
    assert order.index(("CreateDBInstanceReadReplica", "temp-mitosis-demo-r2", None)) < \
        order.index(("CreateDBInstanceReadReplica", "temp-mitosis-demo-r1a", None)) < \
        order.index(("ModifyDBInstance", "temp-mitosis-demo-r2", None))
    assert_refreshed(endpoint, before)
