"""What a flow log adds to the capture model: the device's own verdict, and where each
record came from.

A log line is one record. ``LogFlow`` is a ``Flow`` (the verdict stage judges it exactly as
a captured flow) that also carries what the log says about the connection: Zeek's
``conn_state``, the firewall's action, and whether the device itself blocked it.
``FlowLogTable`` is a ``FlowTable`` whose accounting counts log records (not packets) and
which lists every record it could not read, with its line number or byte offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segverify.flows.model import Flow, FlowTable


@dataclass(frozen=True)
class LogFlow(Flow):
    """A flow read from a log.

    ``blocked_by_device``: the logging device dropped, denied or reset the connection
    (FortiGate ``action=deny``, PAN-OS ``deny``/``drop``/``reset-*``): an attempt that the
    network stopped, never a leak. ``answered``: the responder is known to have answered
    (Zeek states SF/S1/S2/S3/RSTO/RSTR, or packets counted in the reverse direction, and
    not blocked). ``state`` is the log's own word for the connection (Zeek ``conn_state``,
    FortiGate ``action``, PAN-OS session end reason); several records merged into one flow
    join their distinct states with ``,``.
    """

    state: str = ""
    action: str = ""
    blocked_by_device: bool = False
    answered: bool = False
    log_format: str = ""


@dataclass(frozen=True)
class LogProblem:
    """A record that could not be read: ``line`` for text logs, ``offset`` for binary ones."""

    file: str
    message: str
    line: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}: {self.message}"
        if self.offset is not None:
            return f"{self.file}: byte {self.offset}: {self.message}"
        return f"{self.file}: {self.message}"


@dataclass
class LogStats:
    """How the lines (or bytes) of the inputs divide; they reconcile:
    ``lines == header_lines + blank_lines + other_records + accounting.records``.

    ``other_records`` are well-formed records that describe no traffic (a PAN-OS THREAT
    line, a FortiGate event log line); ``superseded`` records were read but replaced by a
    later record of the same firewall session (counters in both vendors' logs are
    cumulative); ``untimed`` records had no readable timestamp (time 0 is used).
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


@dataclass
class FlowLogTable(FlowTable):
    """A ``FlowTable`` read from logs: ``accounting.records`` counts log records;
    ``analysed`` the ones read, ``malformed`` and ``truncated`` the ones that could not be
    (each listed in ``problems``)."""

    problems: list[LogProblem] = field(default_factory=list)
    stats: LogStats = field(default_factory=LogStats)
    formats: tuple[str, ...] = ()

    def warnings(self, limit: int = 20) -> list[str]:
        """One line per unreadable record (the first ``limit``), then how many more."""
        out = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            out.append(f"… and {len(self.problems) - limit} more unreadable record(s)")
        return out
