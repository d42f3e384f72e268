"""Run ids, namespace names and the small JSON state file of a running lab."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from segverify.i18n import Msg
from segverify.lab.messages import msg
from segverify.lab.system import LabError

PREFIX = "sv-"
RUN_ID_RE = re.compile(r"^[a-z0-9]{1,12}$")
# every namespace the lab makes: sv-<runid>-fw, sv-<runid>-sw, sv-<runid>-h-<host>
NS_RE = re.compile(r"^sv-([a-z0-9]{1,12})-(fw|sw|h-[A-Za-z0-9_.-]+)$")
DEFAULT_RUN_ID = "lab"


def state_dir() -> Path:
    """/run/segverify-lab when writable (root), else a per-user directory under /tmp."""
    env = os.environ.get("SEGVERIFY_LAB_STATE")
    if env:
        return Path(env)
    run = Path("/run")
    if os.access(run, os.W_OK):
        return run / "segverify-lab"
    return Path("/tmp") / f"segverify-lab-{os.getuid()}"


def check_run_id(run_id: str, lang: str = "en") -> str:
    if not RUN_ID_RE.match(run_id):
        raise LabError(msg("bad_run_id", lang, run_id=run_id))
    return run_id


def fw_ns(run_id: str) -> str:
    return f"{PREFIX}{run_id}-fw"


def sw_ns(run_id: str) -> str:
    return f"{PREFIX}{run_id}-sw"


def host_ns(run_id: str, host_id: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.-]", "-", host_id)
    return f"{PREFIX}{run_id}-h-{clean}"


@dataclass
class LabState:
    run_id: str
    topology: str  # path of the topology file
    namespaces: list[str]
    hosts: dict[str, str]  # host id -> namespace
    firewall_ns: str
    interfaces: dict[str, str]  # firewall interface -> zone
    ruleset: dict[str, str] = field(default_factory=dict)  # path, vendor, sha256, loaded_as
    created: float = 0.0

    def path(self) -> Path:
        return state_dir() / f"{self.run_id}.json"

    def save(self) -> None:
        directory = state_dir()
        directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path().with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path())

    @classmethod
    def load(cls, run_id: str, lang: str = "en") -> LabState:
        path = state_dir() / f"{run_id}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LabError(msg("no_lab", lang, run_id=run_id)) from None
        except (OSError, ValueError) as exc:
            raise LabError(
                Msg("error.lab.state.cannot_read_lab_state", reason=exc), str(path)
            ) from None
        return cls(**data)

    def remove_file(self) -> None:
        self.path().unlink(missing_ok=True)


def list_states() -> list[str]:
    directory = state_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.json"))
