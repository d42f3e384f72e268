"""The whole network in one run on the α preset: three exports of different vendors
(fw-inet: Cisco ASA, fw-mynumber: Juniper SRX, fw-lgwan: YAMAHA RTX)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.checks.firewall import check_firewall
from segverify.checks.network import check_network, zone_paths
from segverify.checks.network_diff import diff_network
from segverify.cli.main import cli
from segverify.firewall.exports import load_exports
from segverify.topology.loader import load_topology

REPO = Path(__file__).resolve().parents[1]
ALPHA = REPO / "topologies" / "alpha.yaml"
DATA = REPO / "tests" / "data" / "vendors" / "network"
IMAP = {"inside": "eth0", "outside": "eth1", "ge-0/0/0.0": "eth0", "ge-0/0/1.0": "eth1",
        "ge-0/0/2.0": "eth2", "lan1": "eth0", "lan2": "eth1"}  # fmt: skip
FILES = {"fw-inet": "fw-inet.asa", "fw-mynumber": "fw-mynumber.srx", "fw-lgwan": "fw-lgwan.rtx"}


def exports(
    tmp_path: Path, edits: dict[str, tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """The three exports, with (old, new) text replacements applied to some."""
    out = []
    for node, name in FILES.items():
        text = (DATA / name).read_text(encoding="utf-8")
        if edits and node in edits:
            old, new = edits[node]
            assert old in text
            text = text.replace(old, new)
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        out.append((node, str(p)))
    return out


def run(tmp_path: Path, edits: dict[str, tuple[str, str]] | None = None, drop: str | None = None):
    topo = load_topology(ALPHA)
    specs = [s for s in exports(tmp_path, edits) if s[0] != drop]
    return check_network(topo, load_exports(specs, topo, None, IMAP))


def permits(report) -> dict[tuple[str, str], list[tuple[str, str]]]:
    return {
        (f.data["src_zone"], f.data["dst_zone"]): [
            (p["device"], p["firewall_rule"].get("label", "")) for p in f.data["path"]
        ]
        for f in report.findings
        if f.kind == "network-permit"
    }


def test_paths_of_the_alpha_preset() -> None:
    topo = load_topology(ALPHA)
    assert [[h.label() for h in p] for p in zone_paths(topo, "mynumber", "lgwan")] == [
        ["fw-mynumber (eth0→eth1)", "fw-lgwan (eth1→eth0)"]
    ]
    assert zone_paths(topo, "inet", "lgwan") == []  # only the sanitiser hosts straddle them


def test_leak_that_needs_two_devices_to_line_up(tmp_path: Path) -> None:
    report = run(tmp_path)
    got = permits(report)
    # fw-mynumber lets mynumber out to any LGWAN-side address on 8443; fw-lgwan lets
    # anything from the LGWAN side in on 8443: together, mynumber reaches lgwan
    assert got[("mynumber", "lgwan")] == [
        ("fw-mynumber", "policy 'business-app'"),
        ("fw-lgwan", "filter 210"),
    ]
    assert set(got) == {("mynumber", "lgwan"), ("mynumber", "lgwan-wan")}
    f = next(
        f for f in report.findings if f.kind == "network-permit" and f.data["dst_zone"] == "lgwan"
    )
    ex = f.data["example"]
    assert (
        ex["src"].startswith("198.18.10.")
        and ex["dst"].startswith("198.18.20.")
        and ex["dport"] == 8443
    )
    assert (
        f.severity == "error"
        and f.data["certain"]
        and "経路上のすべてのファイアウォール" in f.message_ja
    )
    assert not report.incomplete and [f.kind for f in report.findings].count("network-blocked") == 0


def test_one_device_blocking_closes_the_path(tmp_path: Path) -> None:
    """With fw-mynumber's 'business-app' limited to the chukan server the two-device leak is
    gone, although fw-lgwan on its own still lets mynumber addresses in (its single-device
    check says so)."""
    narrowed = {
        "fw-mynumber": (
            "destination-address any;\n                    application app-8443;",
            "destination-address chukan;\n                    application app-8443;",
        )
    }
    report = run(tmp_path, narrowed)
    assert ("mynumber", "lgwan") not in permits(report)
    topo = load_topology(ALPHA)
    single = load_exports([s for s in exports(tmp_path) if s[0] == "fw-lgwan"], topo, None, IMAP)
    alone = check_firewall(topo, single["fw-lgwan"], "fw-lgwan", shadow=False)
    assert any(
        f.kind == "firewall-permit" and f.data["src_zone"] == "mynumber" for f in alone.findings
    )


def test_change_that_breaks_the_sanitisers_mail(tmp_path: Path) -> None:
    # mail from the security-cloud relay to the internet-side mail server (then the
    # sanitiser) is sanctioned (R3-security-cloud-mail-in); the change drops its ACL line
    line = "access-list outside_in extended permit tcp object sc-mail 198.18.30.0 255.255.255.0 eq smtp\n"
    report = run(tmp_path, {"fw-inet": (line, "")})
    blocked = [f for f in report.findings if f.kind == "network-blocked"]
    assert len(blocked) == 1
    f = blocked[0]
    assert (f.data["src_zone"], f.data["dst_zone"]) == ("security-cloud", "inet")
    assert "R3-security-cloud-mail-in" in f.data["allow_rules"]
    assert f.data["example"]["src"] == "203.0.113.25" and f.data["example"]["dport"] == 25
    stop = f.data["stopped_by"][0]
    assert (
        stop["device"] == "fw-inet"
        and stop["firewall_rule"]["text"] == "access-list outside_in extended deny ip any any"
    )


def test_missing_export_is_reported_not_passed(tmp_path: Path) -> None:
    report = run(tmp_path, drop="fw-lgwan")
    assert report.incomplete
    assert any("no export for fw-lgwan" in p for p in report.summary["unverified_paths"])
    assert ("mynumber", "lgwan") not in permits(report)  # not judged without fw-lgwan


def test_cli_several_devices(tmp_path: Path) -> None:
    args = ["firewall", "-t", str(ALPHA), "--format", "json",
            "--interface-map", ",".join(f"{k}={v}" for k, v in IMAP.items())]  # fmt: skip
    for node, path in exports(tmp_path):
        args += ["--device", f"{node}={path}"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output
    doc = json.loads(res.output)
    assert sorted(f["kind"] for f in doc["findings"]) == ["network-permit", "network-permit"]
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    schemas = {
        n: json.loads((REPO / "docs" / "schema" / f"{n}.schema.json").read_text("utf-8"))
        for n in ("report", "firewall")
    }
    registry = referencing.Registry().with_resources(
        [(x["$id"], referencing.Resource.from_contents(x)) for x in schemas.values()]
    )
    jsonschema.Draft202012Validator(schemas["firewall"], registry=registry).validate(doc)


@pytest.mark.parametrize(
    "extra,what",
    [
        (["--device", "fw-inet"], "give the EXPORT file"),
        (["--device", "fw-inet=a.asa", "x.rules"], "replaces the EXPORT argument"),
        (["--device", "fw-inet=a", "--device", "fw-inet=b"], "given twice"),
        (["--device", "fw-inet", "--device", "fw-lgwan", "x.rules"], "names one node"),
    ],
)
def test_cli_usage_errors_are_exit_2(extra: list[str], what: str) -> None:
    res = CliRunner().invoke(cli, ["firewall", "-t", str(ALPHA), *extra])
    assert res.exit_code == 2 and what in res.output


def test_fail_on_network_blocked(tmp_path: Path) -> None:
    line = "access-list outside_in extended permit tcp object sc-mail 198.18.30.0 255.255.255.0 eq smtp\n"
    specs = exports(
        tmp_path,
        {
            "fw-inet": (line, ""),
            "fw-mynumber": ("policy business-app {", "inactive: policy business-app {"),
        },
    )
    args = [
        "firewall",
        "-t",
        str(ALPHA),
        "--interface-map",
        ",".join(f"{k}={v}" for k, v in IMAP.items()),
    ]
    for node, path in specs:
        args += ["--device", f"{node}={path}"]
    plain = CliRunner().invoke(cli, args)
    strict = CliRunner().invoke(cli, [*args, "--fail-on", "error,network-blocked"])
    assert (plain.exit_code, strict.exit_code) == (0, 1), plain.output


# ------------------------------------------------------------------ segverify diff, whole network

MAIL_LINE = (
    "access-list outside_in extended permit tcp object sc-mail 198.18.30.0 255.255.255.0 eq smtp\n"
)
LGWAN_9443 = ("tcp * 8443", "tcp * 8443,9443")
MYNUMBER_9443 = ("destination-port 8443;", "destination-port 8443-9443;")


def diff_run(tmp_path: Path, edits: dict[str, tuple[str, str]]):

    topo = load_topology(ALPHA)
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old_dir.mkdir(parents=True)
    new_dir.mkdir(parents=True)
    before = load_exports(exports(old_dir), topo, None, IMAP)
    after_specs = [s for s in exports(new_dir, edits) if s[0] in edits]
    after = load_exports(after_specs, topo, None, IMAP)  # nodes not changed keep their export
    return diff_network(topo, before, after)


def test_diff_change_that_breaks_the_sanitisers_mail(tmp_path: Path) -> None:
    report = diff_run(tmp_path, {"fw-inet": (MAIL_LINE, "")})
    assert [
        (f.severity, f.data["change"], f.data["src_zone"], f.data["dst_zone"])
        for f in report.findings
    ] == [("warning", "blocked", "security-cloud", "inet")]
    assert report.findings[0].data["stopped_by"][0]["device"] == "fw-inet"
    assert report.exit_code() == 0


def test_diff_new_leak_needs_both_changes(tmp_path: Path) -> None:
    only_lgwan = diff_run(tmp_path / "a", {"fw-lgwan": LGWAN_9443})
    assert only_lgwan.findings == ()  # fw-mynumber still stops 9443
    both = diff_run(tmp_path / "b", {"fw-lgwan": LGWAN_9443, "fw-mynumber": MYNUMBER_9443})
    leaks = {
        (f.data["src_zone"], f.data["dst_zone"])
        for f in both.findings
        if f.data["change"] == "permitted"
    }
    assert ("mynumber", "lgwan") in leaks
    f = next(
        f
        for f in both.findings
        if (f.data["src_zone"], f.data["dst_zone"]) == ("mynumber", "lgwan")
    )
    assert f.severity == "error" and f.data["example"]["dport"] != 8443
    assert [p["device"] for p in f.data["path"]] == ["fw-mynumber", "fw-lgwan"]


def test_diff_cli(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    args = [
        "diff",
        "-t",
        str(ALPHA),
        "--interface-map",
        ",".join(f"{k}={v}" for k, v in IMAP.items()),
    ]
    for node, path in exports(tmp_path / "a"):
        args += ["--old", f"{node}={path}"]
    for node, path in exports(tmp_path / "b", {"fw-inet": (MAIL_LINE, "")}):
        args += ["--new", f"{node}={path}"]
    res = CliRunner().invoke(cli, [*args, "--fail-on", "error,warning"])
    assert res.exit_code == 1 and "newly blocked on every path" in res.output
    bad = CliRunner().invoke(cli, ["diff", "-t", str(ALPHA), "x.rules", "--old", "fw-inet=a"])
    assert bad.exit_code == 2 and "replace the OLD and NEW" in bad.output


NAT = DATA / "nat"


def nat_run():
    topo = load_topology(ALPHA)
    specs = [
        ("fw-mynumber", str(NAT / "fw-mynumber.rules")),
        ("fw-lgwan", str(NAT / "fw-lgwan.rtx")),
    ]
    return check_network(topo, load_exports(specs, topo, None, IMAP))


def test_destination_nat_is_followed_into_the_next_device() -> None:
    """fw-mynumber lets mynumber reach fw-lgwan's own address on 8443 (its port forward);
    fw-lgwan translates that to the LGWAN mail server's port 25 and permits the translated
    packet. Only following the translation from one device into the next finds the R1 leak
    mynumber → lgwan (intersecting the devices' sets as they are misses it)."""
    report = nat_run()
    leak = next(
        f
        for f in report.findings
        if f.kind == "network-permit"
        and (f.data["src_zone"], f.data["dst_zone"]) == ("mynumber", "lgwan")
    )
    ex = leak.data["example"]
    assert (ex["dst"], ex["dport"]) == ("198.18.20.25", 25)
    assert (ex["original_dst"], ex["original_dport"]) == ("198.19.100.1", 8443)
    assert ex["src"].startswith("198.18.10.")
    assert [(p["device"], p["firewall_rule"]["line"]) for p in leak.data["path"]] == [
        ("fw-mynumber", 6),
        ("fw-lgwan", 10),
    ]
    assert "sent to 198.19.100.1:8443" in leak.message and leak.data["certain"]
    assert report.summary["nat_devices"] == ["fw-lgwan"]


def test_ipv4_only_exports_say_nothing_of_ipv6() -> None:
    """Neither export filters IPv6: no finding rests on an IPv6 packet (those would all be
    'permitted' by no rule), and the summary says which families were not analysed."""
    report = nat_run()
    assert report.summary["not_analysed"] == "fw-mynumber: IPv6; fw-lgwan: IPv6"
    examples = [f.data["example"] for f in report.findings if "example" in f.data]
    assert examples and all(":" not in e["src"] for e in examples), examples
    for f in report.findings:
        for step in f.data.get("path", []):
            assert step["firewall_rule"], f.message  # every permit names its rule


def test_diff_follows_nat_into_the_next_device(tmp_path: Path) -> None:
    """The port forward appears in a change: the diff names the new leak with the address
    it was sent to and the rule on each device for the packet as it reaches that device."""
    topo = load_topology(ALPHA)
    old_lgwan = tmp_path / "old.rtx"
    old_lgwan.write_text(
        (NAT / "fw-lgwan.rtx").read_text().replace("ip lan2 nat descriptor 1000\n", "")
    )
    mine = ("fw-mynumber", str(NAT / "fw-mynumber.rules"))
    before = load_exports([mine, ("fw-lgwan", str(old_lgwan))], topo, None, IMAP)
    after = load_exports([mine, ("fw-lgwan", str(NAT / "fw-lgwan.rtx"))], topo, None, IMAP)
    report = diff_network(topo, before, after)
    new = [f for f in report.findings if f.data.get("change") == "permitted"]
    assert [(f.data["src_zone"], f.data["dst_zone"]) for f in new] == [("mynumber", "lgwan")]
    ex = new[0].data["example"]
    assert (ex["dst"], ex["dport"], ex["original_dst"], ex["original_dport"]) == (
        "198.18.20.25", 25, "198.19.100.1", 8443,
    )  # fmt: skip
    assert [p["firewall_rule"]["line"] for p in new[0].data["path"]] == [6, 10]
