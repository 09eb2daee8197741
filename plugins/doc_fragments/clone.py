# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What to clone into what: the options shared by the plan and the step modules.
    DOCUMENTATION = r"""
options:
  source:
    description:
      - Identifier of the instance whose data is cloned (for example the production primary). Never modified.
    type: str
    required: true
  target:
    description:
      - Identifier of the root of the replication graph to replace (for example the demo primary).
    type: str
    required: true
  restore_snapshot:
    description:
      - Create the new target primary by restoring the newest available snapshot of O(source) instead of through
        a read replica. Chosen automatically when source and target subnet groups are in different VPCs.
    type: bool
    default: false
"""
