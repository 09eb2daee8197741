"""Feature 7: injected faults, at start (MITOSIS_FAULTS) or at runtime (control requests)."""

import pytest

from devtools.rds_endpoint.testing import ControlError, aws_error


def test_throttling_is_retried_by_botocore(endpoint_api, endpoint):
    endpoint_api.primary("db")
    endpoint.clear_calls()
    endpoint.add_fault("DescribeDBInstances", "Throttling")
    patient = endpoint.client("rds", retries={"mode": "standard", "total_max_attempts": 3})
    assert patient.describe_db_instances()["DBInstances"]
    calls = endpoint.calls("DescribeDBInstances")
    assert [(c["status"], c["error"]) for c in calls] == [(400, "Throttling"), (200, None)]


def test_consecutive_calls_fail_times_times(endpoint_api, endpoint):
    endpoint.add_fault("DescribeDBInstances", "Throttling", times=2, message="Slow down")
    for _ in range(2):
        assert aws_error(endpoint_api.rds.describe_db_instances) == ("Throttling", 400)
    endpoint_api.rds.describe_db_instances()


def test_the_nth_call_for_one_identifier_fails(endpoint_api, endpoint):
    api = endpoint_api
    api.primary("a")
    api.primary("b")
    endpoint.add_fault(
        "ModifyDBInstance", "InternalFailure", nth=2, identifier="b", http_status=500
    )

    def modify(name):
        api.rds.modify_db_instance(
            DBInstanceIdentifier=name, BackupRetentionPeriod=2, ApplyImmediately=True
        )
        api.settle()

    modify("b")  # first matching call
    modify("a")  # does not match
    assert aws_error(modify, "b") == ("InternalFailure", 500)
    modify("b")  # the fault is spent
    assert [f["spent"] for f in endpoint.faults()] == [True]


def test_a_status_fault_leaves_the_instance_failed(endpoint_api, endpoint):
    api = endpoint_api
    api.primary("src")
    endpoint.add_fault("CreateDBInstanceReadReplica", status="failed", identifier="rep")
    created = api.rds.create_db_instance_read_replica(
        DBInstanceIdentifier="rep", SourceDBInstanceIdentifier="src"
    )
    assert created["DBInstance"]["DBInstanceStatus"] == "creating"
    api.settle()
    assert api.describe("rep")["DBInstanceStatus"] == "failed"
    # A failed instance refuses changes but can be deleted.
    assert aws_error(
        api.rds.modify_db_instance, DBInstanceIdentifier="rep", MultiAZ=True, ApplyImmediately=True
    ) == ("InvalidDBInstanceState", 400)
    api.rds.delete_db_instance(DBInstanceIdentifier="rep", SkipFinalSnapshot=True)
    api.settle()
    assert not api.exists("rep")


@pytest.mark.parametrize("status", ["failed", "incompatible-parameters", "storage-full"])
def test_an_instance_enters_a_status_at_once(endpoint_api, endpoint, status):
    endpoint_api.primary("db")
    endpoint_api.hold()
    endpoint_api.rds.modify_db_instance(
        DBInstanceIdentifier="db", MultiAZ=True, ApplyImmediately=True
    )
    endpoint.set_instance_status("db", status)
    endpoint.settle()  # the abandoned modify never completes
    db = endpoint_api.describe("db")
    assert (db["DBInstanceStatus"], db["MultiAZ"]) == (status, False)


def test_status_of_a_missing_instance_is_not_found(endpoint):
    with pytest.raises(ControlError) as caught:
        endpoint.set_instance_status("nope", "failed")
    assert caught.value.status == 404


def test_a_fault_needs_a_code_or_a_status(endpoint):
    with pytest.raises(ControlError) as caught:
        endpoint.control("POST", "faults", {"operation": "ModifyDBInstance"})
    assert caught.value.status == 400


def test_clear_faults(endpoint_api, endpoint):
    endpoint.add_fault("DescribeDBInstances", "Throttling", times=5)
    endpoint.clear_faults()
    assert endpoint.faults() == []
    endpoint_api.rds.describe_db_instances()


def test_faults_from_the_environment_at_start(configured_endpoint):
    # conftest.START_FAULTS: GetCallerIdentity fails once; the 2nd DescribeDBInstances throttles.
    sts = configured_endpoint.client("sts", retries={"total_max_attempts": 1})
    assert aws_error(sts.get_caller_identity) == ("ExpiredToken", 403)
    sts.get_caller_identity()
    rds = configured_endpoint.client("rds", retries={"total_max_attempts": 1})
    rds.describe_db_instances()
    assert aws_error(rds.describe_db_instances) == ("Throttling", 400)
    rds.describe_db_instances()
