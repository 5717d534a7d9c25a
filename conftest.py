"""Root pytest hooks shared by tests/integration and tests/e2e.

Tests marked `kvm` need /dev/kvm. Without it they are skipped here, with
the reason, and scripts/run-tests runs them inside tests/kvmbox instead.
"""
import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.path.exists("/dev/kvm"):
        return
    skip = pytest.mark.skip(
        reason="no /dev/kvm on this machine; scripts/run-tests runs "
        "the kvm tests inside tests/kvmbox")
    for item in items:
        if "kvm" in item.keywords:
            item.add_marker(skip)
