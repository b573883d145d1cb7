"""Small helpers shared by the outer layers."""

from __future__ import annotations

import importlib
import os
import subprocess
from typing import Any


def resolve(path: str) -> Any:
    """`package.module:attribute` (or `package.module`) to the object it names."""
    module_name, _, attribute = path.partition(":")
    module = importlib.import_module(module_name)
    target: Any = module
    for part in filter(None, attribute.split(".")):
        target = getattr(target, part)
    return target


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout` seconds; reaped either way."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def thread_ids() -> list[int]:
    """This process's threads, by id, for the per-thread settings Linux keeps (niceness, CPU
    affinity; a thread started later inherits its creator's); [0], this thread, without
    /proc."""
    tasks = f"/proc/{os.getpid()}/task"
    return [int(t) for t in os.listdir(tasks)] if os.path.isdir(tasks) else [0]
