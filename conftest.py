"""Root pytest hooks shared by tests/integration and tests/e2e.

Tests marked `kvm` need /dev/kvm. Without it they are skipped here, with
the reason, and scripts/run-tests runs them inside tests/kvmbox instead.
lab/ is put on sys.path: its seamlog module judges guest serial logs for
every test that reads one.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lab"))


def pytest_collection_modifyitems(config, items):
    if os.path.exists("/dev/kvm"):
        return
    skip = pytest.mark.skip(
        reason="no /dev/kvm on this machine; scripts/run-tests runs "
        "the kvm tests inside tests/kvmbox")
    for item in items:
        if "kvm" in item.keywords:
            item.add_marker(skip)
