"""A restart command for tests: records when it ran and which instances held which names then.

Usage: restart_probe.py LOG [EXIT_CODE]. Appends one JSON line to LOG, then exits with EXIT_CODE.
"""

import json
import sys
import time

import boto3
from botocore.config import Config


def main():
    log, code = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
    rds = boto3.client("rds", config=Config(proxies={}))
    names = {}
    for page in rds.get_paginator("describe_db_instances").paginate():
        for inst in page["DBInstances"]:
            names[inst["DBInstanceIdentifier"]] = {
                "resource_id": inst["DbiResourceId"], "status": inst["DBInstanceStatus"],
                "source": inst.get("ReadReplicaSourceDBInstanceIdentifier")}
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"time": time.time(), "instances": names, "exit": code}) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
