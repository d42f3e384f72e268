"""What a flow log adds to the capture model: the device's own verdict, and where each
record came from.

A log line is one record. ``FlowLogTable`` is a ``FlowTable`` (columns built by
``FlowColumns.from_arrays``, the one flow constructor) whose accounting counts log records
(not packets), which lists every record it could not read with its line number or byte
offset, and which carries per flow what the log says: the device blocked it
(``blocked``), the device's action words, the log's own state words. Its ``state`` and
``answered`` columns hold the log's verdict where the log gives one (Zeek ``conn_state``;
a firewall's deny), otherwise what the packet counts and TCP flags imply (the same
functions as for captures). ``LogFlow`` is the one-flow view of a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from segverify.flows.model import Accounting, Flow, FlowTable
from segverify.flows.state import CONN_STATES
from segverify.i18n import Msg

if TYPE_CHECKING:
    from segverify.flows.columns import FlowColumns


@dataclass(frozen=True)
class LogFlow(Flow):
    """A flow read from a log.

    ``blocked_by_device``: the logging device dropped, denied or reset the connection
    (FortiGate ``action=deny``, PAN-OS ``deny``/``drop``/``reset-*``, NSEL "flow denied"):
    an attempt that the network stopped, never a leak; ``answered`` is then False.
    ``conn_state`` and ``answered`` are the log's (Zeek) or derived from counts and flags
    (fields here, where ``Flow`` computes them). ``log_state`` is the log's own words for
    the connection (Zeek ``conn_state``, PAN-OS session end reason) and ``action`` the
    device's; several records merged into one flow join their distinct words with ``,``.
    """

    conn_state: str = ""  # type: ignore[assignment]
    answered: bool = False  # type: ignore[assignment]
    blocked_by_device: bool = False
    action: str = ""
    log_state: str = ""
    log_format: str = ""


@dataclass(frozen=True)
class LogProblem:
    """A record that could not be read: ``line`` for text logs, ``offset`` for binary ones."""

    file: str
    message: str
    line: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        # a catalogue message (segverify.i18n.Msg): the message keeps its Japanese text
        if self.line is not None:
            return Msg("flowlog.problem.line", file=self.file, line=self.line, message=self.message)
        if self.offset is not None:
            return Msg(
                "flowlog.problem.offset", file=self.file, offset=self.offset, message=self.message
            )
        return Msg("flowlog.problem.file", file=self.file, message=self.message)


@dataclass
class LogStats:
    """How the lines of the inputs divide. For text logs they reconcile:
    ``lines == header_lines + blank_lines + other_records + accounting.records``; for
    binary exports ``lines`` counts export messages.

    ``other_records`` are well-formed records that describe no traffic (a PAN-OS THREAT
    line, a FortiGate event line, NetFlow option records, nfdump's summary); ``superseded``
    records were read but replaced by a later record of the same firewall session
    (counters in both vendors' logs are cumulative); ``untimed`` records had no readable
    timestamp (time 0 is used).
    """

    lines: int = 0
    header_lines: int = 0
    blank_lines: int = 0
    other_records: int = 0
    superseded: int = 0
    untimed: int = 0

    def add(self, other: LogStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class FlowLogTable(FlowTable):
    """A ``FlowTable`` read from logs: ``accounting.records`` counts log records,
    ``analysed`` the ones read, ``malformed``/``truncated`` the ones that could not be
    (each in ``problems``). Per-row extras: ``blocked`` (numpy bool), ``actions``,
    ``log_states``, ``log_formats`` (text)."""

    def __init__(
        self,
        columns: FlowColumns,
        accounting: Accounting,
        *,
        blocked: np.ndarray,
        actions: tuple[str, ...],
        log_states: tuple[str, ...],
        log_formats: tuple[str, ...],
        problems: list[LogProblem],
        stats: LogStats,
        formats: tuple[str, ...],
    ) -> None:
        super().__init__(None, accounting, columns=columns)
        self.blocked = blocked
        self.actions = actions
        self.log_states = log_states
        self.log_formats = log_formats
        self.problems = problems
        self.stats = stats
        self.formats = formats

    def flow(self, i: int) -> LogFlow:
        cols = self.columns
        base = cols.flow(i)
        return LogFlow(
            **base.__dict__,
            conn_state=CONN_STATES[int(cols.state[i])],
            answered=bool(cols.answered[i]),
            blocked_by_device=bool(self.blocked[i]),
            action=self.actions[i],
            log_state=self.log_states[i],
            log_format=self.log_formats[i],
        )

    @property
    def flows(self) -> list[LogFlow]:  # type: ignore[override]
        if self._flows is None:
            self._flows = [self.flow(i) for i in range(len(self.columns))]
        return self._flows  # type: ignore[return-value]

    def __iter__(self) -> Iterator[LogFlow]:  # type: ignore[override]
        return iter(self.flows)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_flows"] = None
        return state

    def warnings(self, limit: int = 20) -> list[str]:
        """One line per unreadable record (the first ``limit``), then how many more."""
        out = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            out.append(f"… and {len(self.problems) - limit} more unreadable record(s)")
        return out

    def warning_keys(self, limit: int = 20) -> list[tuple[str, dict[str, object]]]:
        """The same as message-catalogue keys with parameters (the verdict stage's form of
        warnings): each unreadable record (first ``limit``), how many more, and the notes
        on superseded and untimed records."""
        out: list[tuple[str, dict[str, object]]] = [
            ("flowlog.warn.problem", {"problem": str(p)}) for p in self.problems[:limit]
        ]
        if len(self.problems) > limit:
            out.append(("flowlog.warn.more", {"n": len(self.problems) - limit}))
        if self.stats.superseded:
            out.append(("flowlog.warn.superseded", {"n": self.stats.superseded}))
        if self.stats.untimed:
            out.append(("flowlog.warn.untimed", {"n": self.stats.untimed}))
        return out
