"""Kernel start-up: a port clash at start-up is retried with new ports."""

from __future__ import annotations

import socket

import pytest
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from evaluation.batch.kernels import KernelStartError, start_kernel

pytestmark = pytest.mark.slow


def test_a_kernel_that_loses_its_port_is_started_again(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        attempts = []

        def factory(attempt):
            km = AsyncKernelManager(kernel_name="evaluation")
            km.ip = "127.0.0.1"
            km.cache_ports = False  # else the provisioner picks its own ports
            if attempt == 1:
                km.shell_port = taken  # another process got there first
            attempts.append(km)
            return km

        km = start_kernel("evaluation", tmp_path, km_factory=factory, startup_timeout=60)
        try:
            assert len(attempts) == 2
            assert not run_sync(attempts[0].is_alive)(), "the first kernel died on the taken port"
            assert run_sync(km.is_alive)()
            assert km.shell_port != taken
        finally:
            run_sync(km.shutdown_kernel)(now=True)


def test_giving_up_says_what_to_check(tmp_path):
    with pytest.raises(KernelStartError, match=r"(?s)after 2 attempts.*jupyter kernelspec list"):
        start_kernel(
            "no-such-kernel-xyz",
            tmp_path,
            attempts=2,
            km_factory=lambda attempt: AsyncKernelManager(kernel_name="no-such-kernel-xyz"),
        )
