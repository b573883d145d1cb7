"""Small helpers shared by the outer layers."""

from __future__ import annotations

import importlib
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
