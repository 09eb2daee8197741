# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Makes `ansible_collections.mitosis.rds` importable from a plain checkout (via .collections/)."""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_COLLECTIONS = os.path.join(_ROOT, ".collections")
if os.path.basename(os.path.dirname(os.path.dirname(_ROOT))) != "ansible_collections" and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
