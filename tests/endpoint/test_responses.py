"""Correction 6 (StatusInfos, PendingModifiedValues), and the describe features the collection relies on."""


def test_replicas_carry_status_infos(api):
    api.primary("src")
    replica = api.replica("rep", "src")
    assert replica["StatusInfos"] == [
        {"StatusType": "read replication", "Normal": True, "Status": "replicating"}
    ]
    assert "StatusInfos" not in api.describe("src")


def test_every_instance_returns_pending_modified_values(api):
    api.primary("src")
    api.replica("rep", "src")
    for db in api.rds.describe_db_instances()["DBInstances"]:
        assert db["PendingModifiedValues"] == {}


def test_describe_paginates_with_max_records_and_marker(endpoint_api):
    endpoint_api.endpoint.bulk_create("page", 250)
    first = endpoint_api.rds.describe_db_instances(MaxRecords=100)
    assert len(first["DBInstances"]) == 100
    second = endpoint_api.rds.describe_db_instances(MaxRecords=100, Marker=first["Marker"])
    assert len(second["DBInstances"]) == 100
    pages = list(endpoint_api.rds.get_paginator("describe_db_instances").paginate())
    names = [db["DBInstanceIdentifier"] for page in pages for db in page["DBInstances"]]
    assert len(pages) == 3
    assert sorted(names) == [f"page-{n:05d}" for n in range(1, 251)]


def test_describe_filters_on_db_instance_id(endpoint_api):
    endpoint_api.endpoint.bulk_create("filter", 30)
    found = endpoint_api.rds.describe_db_instances(
        Filters=[{"Name": "db-instance-id", "Values": ["filter-00003", "filter-00017", "nope"]}]
    )["DBInstances"]
    assert sorted(db["DBInstanceIdentifier"] for db in found) == ["filter-00003", "filter-00017"]


def test_default_groups_are_accepted_like_on_aws(api):
    api.primary("db", OptionGroupName="default:mysql-8-0")
    api.rds.modify_db_instance(
        DBInstanceIdentifier="db", DBParameterGroupName="default.mysql8.0", ApplyImmediately=True
    )
    api.settle()
    db = api.describe("db")
    assert db["OptionGroupMemberships"][0]["OptionGroupName"] == "default:mysql-8-0"
    assert db["DBParameterGroups"][0]["DBParameterGroupName"] == "default.mysql8.0"
