"""Error types and exit codes shared by every stage.

Exit codes (the same for every command):
  0 clean, 1 findings, 2 bad input or usage, 3 analysis incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3


@dataclass
class InputError(Exception):
    """Bad user input: rendered as one line ``file:line:col: message``, exit code 2."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return f"{where}{self.message}"
