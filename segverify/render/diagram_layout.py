"""Lay a ``DiagramData`` out as a scene: zones as vertical lanes in tier order, hosts inside
their lane, gateways straddling the lanes they join, then horizontal bands for declared
links, sanctioned paths, structural findings, firewall permits and observed flows, and a
legend. A second layout draws the zone × zone matrix with its three layers.

Everything is computed from the data alone (no font metrics, no randomness), so the same
input gives the same scene and the same bytes in every writer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from segverify.checks.matrix import Cell
from segverify.i18n import t
from segverify.render.diagram_model import DiagramData
from segverify.render.scene import Line, Rect, Scene, Text, arrow, fit, text_width

WIDTH = 1400.0
MARGIN = 16.0
TIER_COLOURS = {
    "mynumber": "#f4cccc",
    "lgwan": "#d9ead3",
    "inet": "#cfe2f3",
    "lgwan-wan": "#b6d7a8",
    "security-cloud": "#fff2cc",
    "internet": "#eeeeee",
    "gov-cloud": "#d9d2e9",
    "juki-net": "#fce5cd",
}
GREEN = "#38761d"
AMBER = "#b45f06"
RED = "#cc0000"
BLUE = "#1c4587"
GREY = "#666666"
PURPLE = "#674ea7"  # sanctioned path a firewall blocks
ROW = 22.0
NODE_H = 34.0
LABEL = 10.5  # arrow label size
MIN_LANE = 150.0  # narrowest lane before the page grows wider
HOSTS_PER_COLUMN = 8  # more hosts in one lane: two columns
MAX_LABEL = 520.0  # widest arrow label


def _title(scene: Scene, d: DiagramData) -> float:
    head = " — ".join(x for x in (d.organisation, d.title) if x)
    scene.add(Text(MARGIN, 30, head, 20, bold=True))
    sub = [f"{t('diagram.model', d.lang)}: {d.model}"]
    if d.topology_hash:
        sub.append(f"{t('diagram.hash', d.lang)}: {d.topology_hash}")
    if d.date:
        sub.append(f"{t('diagram.date', d.lang)}: {d.date}")
    scene.add(Text(MARGIN, 52, "   ".join(sub), 12, colour=GREY))
    return 66.0


def lanes_scene(d: DiagramData) -> Scene:
    """The lane diagram of ``d``."""
    n = max(1, len(d.lanes))
    page_w = max(WIDTH, 2 * MARGIN + n * MIN_LANE)  # many zones: wider, never cramped
    scene = Scene(page_w, 0, title=d.title)
    top = _title(scene, d)
    lane_w = (page_w - 2 * MARGIN) / n
    index = d.lane_index()

    def cx(zone: str) -> float:
        return MARGIN + lane_w * (index[zone] + 0.5)

    background: list[Rect] = []  # drawn first, sized once the height is known
    y_head = top + 4
    head_shapes = []
    for i, lane in enumerate(d.lanes):
        x = MARGIN + i * lane_w
        size = max(10.0, min(14.0, 14.0 * (lane_w - 8) / max(1.0, text_width(lane.label, 14))))
        head_shapes.append(
            Text(
                x + lane_w / 2, y_head + 18, fit(lane.label, size, lane_w - 8), size, "middle", True
            )
        )
        sub = lane.zone if lane.zone == lane.tier else f"{lane.zone} ({lane.tier})"
        head_shapes.append(
            Text(
                x + lane_w / 2, y_head + 34, fit(sub, 10.5, lane_w - 8), 10.5, "middle", colour=GREY
            )
        )
        if lane.prefixes:
            pre = ", ".join(lane.prefixes)
            head_shapes.append(
                Text(
                    x + lane_w / 2, y_head + 48, fit(pre, 10, lane_w - 8), 10, "middle", colour=GREY
                )
            )
    y = y_head + 60

    # hosts: stacked in their lane
    node_x: dict[str, float] = {}
    body: list = []
    hosts = [nb for nb in d.nodes if not (len(nb.zones) > 1)]
    per_lane: dict[str, int] = {}
    for nb in hosts:
        per_lane[nb.zones[0]] = per_lane.get(nb.zones[0], 0) + 1
    # a crowded lane holds its hosts in two columns, so 60 nodes stay near A4 landscape
    ncols = {
        z: 2 if n > HOSTS_PER_COLUMN and lane_w * 0.46 >= 70 else 1 for z, n in per_lane.items()
    }
    stacks: dict[str, int] = {}
    rows_used: dict[str, int] = {}
    for nb in hosts:
        zone = nb.zones[0]
        k = stacks.get(zone, 0)
        stacks[zone] = k + 1
        cols = ncols[zone]
        row, col = divmod(k, cols)
        rows_used[zone] = row + 1
        w = lane_w * (0.84 if cols == 1 else 0.46)
        x = cx(zone) - w / 2 if cols == 1 else cx(zone) - lane_w * 0.47 + col * lane_w * 0.48
        ny = y + row * (NODE_H + 6)
        gw = nb.gateway
        body.append(
            Rect(
                x,
                ny,
                w,
                NODE_H,
                "#ffffff" if not gw else "#fff8e1",
                "#333333" if gw else GREY,
                1.6 if gw else 1.0,
                6 if not gw else 2,
            )
        )
        body.append(Text(x + w / 2, ny + 14, fit(nb.label, 12, w - 6), 12, "middle", gw))
        body.append(
            Text(
                x + w / 2,
                ny + 28,
                fit(f"{nb.id} · {t('role.' + nb.role, d.lang)}", 9.5, w - 6),
                9.5,
                "middle",
                colour=GREY,
            )
        )
        node_x[nb.id] = x + w / 2
    y += max(rows_used.values(), default=0) * (NODE_H + 6) + 6

    # gateways: on the boundary between the lanes they join, packed into rows
    gateways = [nb for nb in d.nodes if len(nb.zones) > 1]
    if gateways:
        y = _band_title_inline(body, y, "diagram.band.gateways", d.lang)
        rows: list[list[tuple[float, float]]] = []
        for nb in gateways:
            xs = sorted(cx(z) for z in nb.zones if z in index)
            centre = sum(xs) / len(xs)
            role = f"{nb.id} · {t('role.' + nb.role, d.lang)}"
            w = min(
                lane_w * 1.2,
                max(110.0, text_width(nb.label, 12) + 16, text_width(role, 9.5) + 12),
            )
            lo = min(xs[0], centre - w / 2) - 4
            hi = max(xs[-1], centre + w / 2) + 4
            r = 0
            while r < len(rows) and any(not (hi < a or lo > b) for a, b in rows[r]):
                r += 1
            if r == len(rows):
                rows.append([])
            rows[r].append((lo, hi))
            gy = y + r * (NODE_H + 18) + 8
            body.append(Line(((xs[0], gy + NODE_H / 2), (xs[-1], gy + NODE_H / 2)), "#333333", 2.0))
            for x in xs:
                body.append(Rect(x - 4, gy + NODE_H / 2 - 4, 8, 8, "#333333", "#333333", 1, 4))
            body.append(Rect(centre - w / 2, gy, w, NODE_H, "#fff8e1", "#333333", 1.8, 2))
            body.append(Text(centre, gy + 14, fit(nb.label, 12, w - 6), 12, "middle", True))
            body.append(Text(centre, gy + 28, fit(role, 9.5, w - 6), 9.5, "middle", colour=GREY))
            node_x[nb.id] = centre
        y += len(rows) * (NODE_H + 18) + 10

    def px(ident: str) -> float:
        return cx(ident) if ident in index else node_x.get(ident, MARGIN)

    # declared links
    if d.links:
        y = _band_title_inline(body, y, "diagram.band.links", d.lang)
        for a, b, flagged in d.links:
            colour, width = (RED, 3.0) if flagged else (GREY, 2.0)
            ly = y + ROW / 2
            body.append(Line(((px(a), ly), (px(b), ly)), colour, width))
            for x in (px(a), px(b)):
                body.append(Rect(x - 4, ly - 4, 8, 8, colour, colour, 1, 4))
            body.append(
                Text((px(a) + px(b)) / 2, ly - 4, f"{a} — {b}", 10, "middle", colour=colour)
            )
            y += ROW
        y += 4

    # sanctioned paths
    y = _band_title_inline(body, y, "diagram.band.paths", d.lang)
    items: list[Arrow] = []
    for p in d.paths:
        label = ", ".join(p.services) or "any"
        if p.rules:
            label += " [" + ", ".join(p.rules) + "]"
        colour = GREEN if p.verdict == "allowed" else AMBER
        items.append(Arrow(cx(p.src), cx(p.dst), colour, 1.6, p.verdict == "restricted", label))
    y = _pack(body, y, items, d.lang, page_w)

    # structural findings
    if d.findings:
        y = _band_title_inline(body, y, "diagram.band.findings", d.lang)
        items = []
        for f in d.findings:
            zones = [h for h in f.hops if h in index]
            if len(zones) >= 2:
                dots = tuple(node_x[h] for h in f.hops if h not in index and h in node_x)
                label = f"[{f.number}] {f.rule}: " + " → ".join(f.hops)
                items.append(Arrow(cx(zones[0]), cx(zones[-1]), RED, 2.6, False, label, dots))
            else:
                items.append(
                    Arrow(MARGIN + 8, MARGIN + 8, RED, 0, False, f"[{f.number}] {f.rule}: {f.text}")
                )
        y = _pack(body, y, items, d.lang, page_w)

    # configuration layer: every zone pair the firewall exports permit (forbidden ones in
    # red with their rules), and sanctioned paths a firewall blocks
    if d.has_permits:
        y = _band_title_inline(body, y, "diagram.band.permits", d.lang)
        items = []
        for kind, src, dst, label in config_arrows(d):
            if src not in index or dst not in index:
                continue
            colour, width, dash = CONFIG_STYLE[kind]
            items.append(Arrow(cx(src), cx(dst), colour, width, dash, label))
        y = _pack(body, y, items, d.lang, page_w)

    # observed layer: flows seen in captures
    if d.has_observed:
        y = _band_title_inline(body, y, "diagram.band.observed", d.lang)
        items = []
        for o in d.observed:
            if o.src not in index or o.dst not in index:
                continue
            x1, x2 = cx(o.src), cx(o.dst)
            if o.forbidden:
                rules = ", ".join(f"{r}×{c}" for r, c in sorted(o.rules.items()))
                label = t("diagram.observed.forbidden", d.lang, count=o.forbidden, rules=rules)
                dashed = o.forbidden_unanswered == o.forbidden
                items.append(Arrow(x1, x2, RED, _volume(o.forbidden_packets), dashed, label))
            allowed = o.flows - o.forbidden
            if allowed:
                packets = o.packets - o.forbidden_packets
                dashed = (o.unanswered - o.forbidden_unanswered) == allowed
                label = t("diagram.observed.flows", d.lang, flows=allowed, packets=packets)
                items.append(Arrow(x1, x2, BLUE, _volume(packets), dashed, label))
        y = _pack(body, y, items, d.lang, page_w)

    lanes_bottom = y + 4
    for i, lane in enumerate(d.lanes):
        x = MARGIN + i * lane_w
        background.append(
            Rect(
                x,
                top,
                lane_w,
                lanes_bottom - top,
                TIER_COLOURS.get(lane.tier, "#ffffff"),
                "#999999",
                1.0,
            )
        )
    y = _legend(body, lanes_bottom + 10, d, page_w)
    scene.shapes = [*scene.shapes, *background, *head_shapes, *body]
    scene.height = math.ceil(y + MARGIN)
    return scene


# configuration arrows: sanctioned permit, forbidden permit, sanctioned path blocked
CONFIG_STYLE = {
    "permit": (GREEN, 2.2, False),
    "forbidden": (RED, 2.2, True),
    "blocked": (PURPLE, 2.2, True),
}


def _rules(rules: tuple[str, ...], n: int = 4) -> str:
    return ", ".join(rules[:n]) + (" …" if len(rules) > n else "")


def config_arrows(d: DiagramData) -> list[tuple[str, str, str, str]]:
    """The configuration layer as (kind, src, dst, label), in zone-pair order: each zone pair
    the exports permit (``forbidden`` when the policy forbids some of it, with the permitting
    rules' file:line; else ``permit``), then each sanctioned path a firewall blocks."""
    forbidden = {(p.src, p.dst): p for p in d.permits}
    configured = {(c.src, c.dst): c for c in d.configured}
    out = []
    for key in sorted(set(forbidden) | set(configured)):
        p = forbidden.get(key)
        if p is not None:
            label = t("diagram.permits.forbidden", d.lang, count=p.forbidden, rules=_rules(p.rules))
            out.append(("forbidden", *key, label))
        else:
            label = t("diagram.permits.allowed", d.lang, rules=_rules(configured[key].rules))
            out.append(("permit", *key, label))
    for b in d.blocked:
        label = t(
            "diagram.permits.blocked",
            d.lang,
            allow=", ".join(b.allow_rules) or "-",
            where=_rules(b.where, 3),
        )
        out.append(("blocked", b.src, b.dst, label))
    return out


def _band_title_inline(body: list, y: float, key: str, lang: str) -> float:
    body.append(Text(MARGIN + 6, y + 15, t(key, lang), 12, bold=True, colour="#333333"))
    return y + ROW


def _volume(packets: int) -> float:
    """Line width for a packet count (logarithmic, 1–8 px)."""
    return round(min(8.0, 1.0 + math.log10(max(1, packets))), 2)


@dataclass(frozen=True)
class Arrow:
    """One labelled arrow of a band; ``width`` 0 means a text-only row."""

    x1: float
    x2: float
    colour: str
    width: float
    dash: bool
    label: str
    dots: tuple[float, ...] = ()  # gateway/node positions on a finding's path

    def label_box(self, page_w: float = WIDTH) -> tuple[str, float, float]:
        """The fitted label and its left and right x on a page ``page_w`` wide."""
        lo, hi = min(self.x1, self.x2), max(self.x1, self.x2)
        if self.width == 0:
            text = fit(self.label, LABEL, page_w - 2 * MARGIN - 16)
            return text, lo, lo + text_width(text, LABEL)
        text = fit(self.label, LABEL, max(hi - lo - 12, MAX_LABEL))
        tw = text_width(text, LABEL)
        mid = min(max((lo + hi) / 2, MARGIN + tw / 2 + 2), page_w - MARGIN - tw / 2 - 2)
        return text, mid - tw / 2, mid + tw / 2

    def extent(self, page_w: float = WIDTH) -> tuple[float, float]:
        _, a, b = self.label_box(page_w)
        return min(self.x1, self.x2, a) - 10, max(self.x1, self.x2, b) + 10


def _pack(body: list, y: float, items: list[Arrow], lang: str, page_w: float = WIDTH) -> float:
    """Draw ``items`` in as few rows as possible (leftmost first); return the new y."""
    if not items:
        body.append(Text(MARGIN + 12, y + 14, t("diagram.none", lang), 11, colour=GREY))
        return y + ROW + 4
    rows: list[list[tuple[float, float]]] = []
    order = sorted(range(len(items)), key=lambda i: (*items[i].extent(page_w), i))
    for i in order:
        a = items[i]
        lo, hi = a.extent(page_w)
        r = 0
        while r < len(rows) and any(not (hi <= l0 or lo >= h0) for l0, h0 in rows[r]):
            r += 1
        if r == len(rows):
            rows.append([])
        rows[r].append((lo, hi))
        ay = y + r * ROW + ROW - 5
        text, left, right = a.label_box(page_w)
        if a.width == 0:
            body.append(Text(left, ay, text, LABEL, colour=a.colour))
            continue
        body.extend(arrow(a.x1, ay, a.x2, a.colour, a.width, a.dash))
        for x in a.dots:
            body.append(Rect(x - 5, ay - 5, 10, 10, a.colour, a.colour, 1, 5))
        body.append(Rect(left - 2, ay - 15, right - left + 4, 12, "#ffffff", "none", 0, 2))
        body.append(Text((left + right) / 2, ay - 5, text, LABEL, "middle", colour=a.colour))
    return y + len(rows) * ROW + 4


def _legend(body: list, y: float, d: DiagramData, page_w: float = WIDTH) -> float:
    body.append(Text(MARGIN, y + 14, t("diagram.legend", d.lang), 12, bold=True))
    y += 20
    entries: list[tuple[str, str, float, bool]] = [
        ("diagram.legend.allowed", GREEN, 1.6, False),
        ("diagram.legend.restricted", AMBER, 1.6, True),
        ("diagram.legend.finding", RED, 2.6, False),
    ]
    if d.has_permits:
        entries += [
            ("diagram.legend.permit_ok", GREEN, 2.2, False),
            ("diagram.legend.permit", RED, 2.2, True),
            ("diagram.legend.blocked", PURPLE, 2.2, True),
        ]
    if d.has_observed:
        entries += [
            ("diagram.legend.observed", BLUE, 3.0, False),
            ("diagram.legend.forbidden_flow", RED, 3.0, False),
            ("diagram.legend.unanswered", GREY, 1.6, True),
        ]
    col_w = (page_w - 2 * MARGIN) / 2
    for i, (key, colour, width, dash) in enumerate(entries):
        x = MARGIN + (i % 2) * col_w
        ly = y + (i // 2) * 18 + 6
        body.extend(arrow(x, ly, x + 40, colour, width, dash))
        body.append(Text(x + 50, ly + 4, t(key, d.lang), 11))
    y += ((len(entries) + 1) // 2) * 18 + 6
    body.append(Rect(MARGIN, y, 40, 16, "#fff8e1", "#333333", 1.8, 2))
    body.append(Text(MARGIN + 50, y + 12, t("diagram.legend.gateway", d.lang), 11))
    body.append(Rect(MARGIN + col_w, y, 40, 16, "#ffffff", GREY, 1.0, 6))
    body.append(Text(MARGIN + col_w + 50, y + 12, t("diagram.legend.node", d.lang), 11))
    return y + 20


SYMBOL = {"intra": "·", "allowed": "✓", "restricted": "~", "forbidden": "✗", "external": "-"}
CELL_FILL = {
    "intra": "#eeeeee",
    "allowed": "#d9ead3",
    "restricted": "#fff2cc",
    "forbidden": "#f4cccc",
    "external": "#ffffff",
}


def design_mark(c: Cell) -> str:
    mark = SYMBOL[c.verdict]
    if c.verdict == "forbidden" and c.rule and c.rule.startswith("R"):
        mark += c.rule[1:]
    return mark


def matrix_scene(d: DiagramData) -> Scene:
    """The zone × zone matrix with the design, configuration and observed layers."""
    scene = Scene(WIDTH, 0, title=d.title)
    y = _title(scene, d) + 6
    scene.add(Text(MARGIN, y + 14, t("diagram.matrix.title", d.lang), 13, bold=True))
    y += 26
    zones = [lane.zone for lane in d.lanes]
    labels = {lane.zone: lane.label for lane in d.lanes}
    n = max(1, len(zones))
    head_w = 190.0
    cell_w = min(150.0, (WIDTH - 2 * MARGIN - head_w) / n)
    layers = 1 + int(d.has_permits) + int(d.has_observed)
    cell_h = 20.0 + 16.0 * layers
    grid = {(c.src, c.dst): c for c in d.cells}
    observed = {(o.src, o.dst): o for o in d.observed}
    permits = {(p.src, p.dst): p for p in d.permits}
    configured = {(c.src, c.dst) for c in d.configured}
    blocked = {(b.src, b.dst) for b in d.blocked}
    for j, z in enumerate(zones):
        x = MARGIN + head_w + j * cell_w
        scene.add(Text(x + cell_w / 2, y + 16, fit(labels[z], 11, cell_w - 4), 11, "middle", True))
        scene.add(Text(x + cell_w / 2, y + 30, fit(z, 9.5, cell_w - 4), 9.5, "middle", colour=GREY))
    y += 38
    for i, a in enumerate(zones):
        ry = y + i * cell_h
        scene.add(Text(MARGIN + 4, ry + cell_h / 2, fit(labels[a], 11, head_w - 8), 11, bold=True))
        scene.add(Text(MARGIN + 4, ry + cell_h / 2 + 14, fit(a, 9.5, head_w - 8), 9.5, colour=GREY))
        for j, b in enumerate(zones):
            x = MARGIN + head_w + j * cell_w
            c = grid.get((a, b))
            if c is None:
                continue
            o = observed.get((a, b))
            p = permits.get((a, b))
            bad = bool(o and o.forbidden) or bool(p and p.forbidden)
            stopped = (a, b) in blocked
            scene.add(
                Rect(
                    x,
                    ry,
                    cell_w,
                    cell_h,
                    CELL_FILL[c.verdict],
                    RED if bad else PURPLE if stopped else "#999999",
                    3.0 if bad or stopped else 1.0,
                )
            )
            line_y = ry + 16
            scene.add(Text(x + cell_w / 2, line_y, design_mark(c), 13, "middle", True))
            if d.has_permits:
                line_y += 16
                if p is not None and p.forbidden:
                    txt, colour = f"✗ {p.forbidden}", RED
                elif stopped:
                    txt, colour = t("diagram.matrix.blocked", d.lang), PURPLE
                elif (a, b) in configured:
                    txt, colour = "✓", GREEN
                else:
                    txt, colour = "—", GREY
                scene.add(
                    Text(
                        x + cell_w / 2,
                        line_y,
                        f"{t('diagram.layer.config.short', d.lang)}: {txt}",
                        10,
                        "middle",
                        colour=colour,
                    )
                )
            if d.has_observed:
                line_y += 16
                if o is None:
                    txt = "—"
                elif o.forbidden:
                    txt = f"✗ {o.forbidden}/{o.flows}"
                else:
                    txt = f"{o.flows}"
                scene.add(
                    Text(
                        x + cell_w / 2,
                        line_y,
                        f"{t('diagram.layer.observed.short', d.lang)}: {txt}",
                        10,
                        "middle",
                        colour=RED if o and o.forbidden else BLUE,
                    )
                )
    y += n * cell_h + 16
    scene.add(Text(MARGIN, y + 12, t("diagram.matrix.legend", d.lang), 11))
    y += 18
    if d.has_permits:
        scene.add(Text(MARGIN, y + 12, t("diagram.matrix.config_legend", d.lang), 11))
        y += 18
    layer_names = [t("diagram.layer.design", d.lang)]
    if d.has_permits:
        layer_names.append(t("diagram.layer.config", d.lang))
    if d.has_observed:
        layer_names.append(t("diagram.layer.observed", d.lang))
    scene.add(Text(MARGIN, y + 12, " / ".join(layer_names), 11, colour=GREY))
    scene.height = math.ceil(y + 20 + MARGIN)
    return scene
