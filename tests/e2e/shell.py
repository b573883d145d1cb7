"""The real `ledgerdesk` command in a subprocess, with an environment of the test's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The console script installed next to the interpreter that runs the tests.
LEDGERDESK = Path(sys.executable).with_name("ledgerdesk")
# Wide, plain output: rich would otherwise wrap a long error line at 80 columns.
PLAIN = {"COLUMNS": "300", "TERM": "dumb", "NO_COLOR": "1", "PYTHONUTF8": "1"}


def clean_environ(**values: str) -> dict[str, str]:
    """os.environ without inherited LEDGERDESK_* variables, with plain output and `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERDESK_")}
    env.pop("FORCE_COLOR", None)
    return {**env, **PLAIN, **values}


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (
            f"ledgerdesk {' '.join(self.args)[:200]} -> exit {self.code}\n"
            f"stdout: {self.stdout[:2000]}\nstderr: {self.stderr[:2000]}"
        )


@dataclass(frozen=True)
class Ledgerdesk:
    """Runs `ledgerdesk …` with one environment; `check` asserts a zero exit code."""

    env: dict[str, str]
    cwd: Path  # not the repository: settings.py would read a .env file found there

    def __call__(self, *args: str, check: bool = True, timeout: float = 120) -> Result:
        done = subprocess.run(
            [str(LEDGERDESK), *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            encoding="utf-8",
            timeout=timeout,
            check=False,
        )
        result = Result(args, done.returncode, done.stdout, done.stderr)
        if check:
            assert result.code == 0, str(result)
        return result

    def json(self, *args: str) -> Any:
        return self(*args, "--json").json()

    def with_env(self, **values: str) -> Ledgerdesk:
        return Ledgerdesk({**self.env, **values}, self.cwd)

    def popen(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                [str(LEDGERDESK), *args],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )


def one_line_error(result: Result, code: int | None = None) -> str:
    """Assert the command failed with exactly one readable line on stderr; return that line."""
    assert result.code != 0, str(result)
    if code is not None:
        assert result.code == code, str(result)
    assert "Traceback" not in result.stderr, str(result)
    lines = result.stderr.strip("\n").splitlines()
    assert len(lines) == 1 and lines[0].strip(), str(result)
    return lines[0]
