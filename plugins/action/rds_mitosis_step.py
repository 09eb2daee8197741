# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rds_mitosis_step runs on the controller: a module cannot print while it waits, an action plugin can."""

from __future__ import annotations

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.mitosis.rds.plugins.module_utils.aws import HAS_BOTO3, MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.masking import read_rules_option
from ansible_collections.mitosis.rds.plugins.module_utils.module import (
    AWS_ARGUMENT_SPEC, CLONE_REQUIRED_IF, STEP_ARGUMENT_SPEC, STEP_MUTUALLY_EXCLUSIVE, STEP_REQUIRED_ONE_OF,
    check_ranges, connection_from, run_step)

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if not HAS_BOTO3:
            return dict(result, failed=True, msg="mitosis.rds.rds_mitosis_step needs boto3 and botocore on the "
                                                 "controller (pip install boto3).")
        validator = ArgumentSpecValidator(dict(AWS_ARGUMENT_SPEC, **STEP_ARGUMENT_SPEC),
                                          mutually_exclusive=STEP_MUTUALLY_EXCLUSIVE,
                                          required_one_of=STEP_REQUIRED_ONE_OF, required_if=CLONE_REQUIRED_IF)
        args = dict(self._task.args)
        try:
            read_rules_option(args, "mask_rules")
        except MitosisError as error:
            return dict(result, failed=True, **error.to_result())
        validated = validator.validate(args)
        if validated.error_messages:
            return dict(result, failed=True, msg="; ".join(validated.error_messages))
        params = validated.validated_parameters
        # As a module's result shows it (at -vvv), secrets masked.
        result["invocation"] = {"module_args": remove_values(params, validated._no_log_values)}
        label = "[{0}] ".format(params["target"])
        # Ansible's workers run in their own session: when ansible-playbook is killed, this one must stop too.
        controller = os.getppid()

        def progress(text):
            display.display(label + text)

        try:
            check_ranges(params)
            result.update(run_step(connection_from(params), params, bool(self._task.check_mode),
                                   bool(self._task.diff), progress, lambda: os.getppid() == controller))
        except MitosisError as error:
            result.update(error.to_result(), failed=True)
        return result
