# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rds_mask reads its rules file on the controller, where it lives, and checks it before the module connects to
anything."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.masking import read_rules_option


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        try:
            read_rules_option(args, "rules")
        except MitosisError as error:
            return dict(result, failed=True, **error.to_result())
        result.update(self._execute_module(module_args=args, task_vars=task_vars))
        return result
