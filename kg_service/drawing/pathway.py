"""The pathway as a picture: its steps and links read from the graph, laid out by Graphviz `dot`.

Nothing here names a step, a drug or a status colour's meaning beyond the contract's four statuses: the
steps and links come from `queries/service/pathway-drawing.rq`, so a branch added in Turtle is drawn with no
code change. Each step is one SVG node and each link one SVG edge; the status, the lines given at a step and
whether a link is on her way are classes and data- attributes a test or a script can read.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field

import graphviz

from kg_service.graph.query_runner import run_oxigraph
from kg_service.store.oxigraph import OxigraphStore

QUERY = "service/pathway-drawing"
FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
STATUS_ORDER = ("recommended", "eligible", "undetermined", "not_eligible")
# fill, border, border style, mark, words. The fills are light: black text keeps a contrast above 7:1 on
# them, the status words in the border colour above 6:1 (WCAG AA);
# the mark and the words say the status without colour, and the border style says it again.
STATUS_STYLE = {
    "recommended": ("#b8e1b0", "#14532b", "solid", "✔", "recommended"),
    "eligible": ("#cfe3f3", "#1a4f80", "solid", "●", "eligible"),
    "undetermined": ("#fbe3a1", "#6b3f00", "dashed", "?", "undetermined"),
    "not_eligible": ("#e4e4e4", "#4a4a4a", "dotted", "✕", "not eligible"),
}
LIT = "#6a1b9a"  # her lines and her way: a purple no status uses
FONT = "DejaVu Sans"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"


class DrawingUnavailable(RuntimeError):
    """Graphviz's `dot` is not installed, failed, or took too long; or the picture cannot show the answer."""


class UnknownStep(DrawingUnavailable):
    """The answer places a line at a step the drawn pathway does not hold: drawn without it, the picture
    would show her way wrongly without a word, so it is refused."""


@dataclass(frozen=True)
class Step:
    iri: str
    label: str
    treatment: bool
    order: int
    entry: bool


@dataclass(frozen=True)
class Link:
    iri: str
    source: str
    target: str
    position: int


@dataclass
class Pathway:
    steps: dict[str, Step]
    links: list[Link]
    entry: str
    children: dict[str, list[str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # step or link IRI -> SVG id
    next_of: dict[str, list[str]] = field(default_factory=dict)  # step -> treatment steps next after it
    by_label: dict[str, str] = field(init=False, repr=False)  # step label -> IRI (the answer names steps by label)

    def __post_init__(self) -> None:
        self.by_label = self.step_by_label()

    def step_by_label(self) -> dict[str, str]:
        return {step.label: step.iri for step in self.steps.values()}

    def step_named(self, label: object, where: str) -> str:
        """The IRI of the step the answer names by `label`; UnknownStep when the pathway holds none."""
        iri = self.by_label.get(label) if isinstance(label, str) else None
        if iri is None:
            raise UnknownStep(
                f"the answer's {where} names the step {label!r}, which the pathway's graph does not hold: "
                "the picture cannot show her way"
            )
        return iri


def _local(iri: str) -> str:
    name = iri.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name) or "x"


def read_pathway(store: OxigraphStore) -> Pathway:
    """Every step and link of the pathway, from the graph."""
    steps: dict[str, Step] = {}
    links: list[Link] = []
    next_of: dict[str, list[str]] = {}
    for row in run_oxigraph(store, QUERY).rows:
        if row.get("from") is not None:
            next_of.setdefault(str(row["from"]), []).append(str(row["next"]))
        elif row.get("step") is not None:
            iri = str(row["step"])
            steps[iri] = Step(
                iri=iri,
                label=str(row["label"]),
                treatment=bool(row["treatment"].toPython()),
                order=int(row["order"]),
                entry=bool(row["entry"].toPython()),
            )
        else:
            links.append(Link(str(row["link"]), str(row["source"]), str(row["target"]), int(row["position"])))
    entries = sorted((s for s in steps.values() if s.entry), key=lambda s: s.order)
    if not entries:
        raise DrawingUnavailable("the graph names no entry step of the pathway")
    children: dict[str, list[str]] = {iri: [] for iri in steps}
    for link in links:
        if link.source not in steps or link.target not in steps:
            raise DrawingUnavailable(f"the link {link.iri} joins a step that has no label or document order")
        children[link.source].append(link.target)
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for prefix, iris in (("step", sorted(steps)), ("link", sorted(link.iri for link in links))):
        for iri in iris:
            ident, n = f"{prefix}-{_local(iri)}", 1
            while ident in taken:
                n += 1
                ident = f"{prefix}-{_local(iri)}-{n}"
            taken.add(ident)
            ids[iri] = ident
    return Pathway(steps, links, entries[0].iri, children, ids, {k: sorted(v) for k, v in next_of.items()})


def step_statuses(answer: dict) -> dict[str, str]:
    """Each treatment step's best status over its regimens (recommended > eligible > undetermined > not)."""
    best: dict[str, str] = {}
    for option in answer.get("options", []):
        step, status = option["step"]["id"], option["status"]
        if step not in best or STATUS_ORDER.index(status) < STATUS_ORDER.index(best[step]):
            best[step] = status
    return best


def lines_at_steps(pathway: Pathway, answer: dict) -> dict[int, list[str]]:
    """Her metastatic lines (number -> the steps they were placed at), from the answer's position."""
    lines: dict[int, list[str]] = {}
    for index, place in enumerate(answer.get("assessment", {}).get("pathway_position") or []):
        iri = pathway.step_named(place.get("step"), f"assessment.pathway_position[{index}].step")
        if iri not in lines.setdefault(int(place["line"]), []):
            lines[int(place["line"])].append(iri)
    return lines


def next_steps(pathway: Pathway, answer: dict, lines: dict[int, list[str]]) -> list[str]:
    """Where her way goes next: every step with a recommended option, and the treatment steps the graph
    places next (through decision steps only) after the steps of her position, or after the entry when she
    has none, unless every option there is closed for her (all not eligible). Her position is the lines the
    answer marks `in_position` (progression or ongoing); an answer that does not mark them: all her lines."""
    statuses = step_statuses(answer)
    places = answer.get("assessment", {}).get("pathway_position") or []
    if any("in_position" in p for p in places):
        position = {
            pathway.step_named(p.get("step"), f"assessment.pathway_position[{i}].step")
            for i, p in enumerate(places)
            if p.get("in_position")
        }
    else:
        position = {iri for steps in lines.values() for iri in steps}
    starts = sorted(position) if position else [pathway.entry]
    ahead = {n for start in starts for n in pathway.next_of.get(start, []) if n not in position}
    chosen = {s for s in ahead if statuses.get(s, "not_eligible") != "not_eligible"}
    chosen |= {s for s, status in statuses.items() if status == "recommended"}
    return sorted((s for s in chosen if s in pathway.steps), key=lambda s: pathway.steps[s].order)


def _chain(pathway: Pathway, start: str, goal: str) -> list[tuple[str, str]]:
    """The shortest chain of links from start to goal (breadth first, children in document order)."""
    came: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue and goal not in came:
        here = queue.popleft()
        for child in pathway.children.get(here, []):
            if child not in came:
                came[child] = here
                queue.append(child)
    if goal not in came:
        return []
    chain: list[tuple[str, str]] = []
    node = goal
    while (parent := came[node]) is not None:
        chain.append((parent, node))
        node = parent
    return chain[::-1]


def lit_links(pathway: Pathway, line_steps: list[list[str]], next_steps: list[str]) -> set[tuple[str, str]]:
    """Her way: from the entry through the steps of her lines, in line order, to each next step. Each leg is
    the shortest chain from the most recent step it can start from (the entry when none reaches it)."""
    lit: set[tuple[str, str]] = set()
    here = [pathway.entry]

    def reach(goal: str) -> None:
        for start in here:
            if start == goal:
                return
            chain = _chain(pathway, start, goal)
            if chain:
                lit.update(chain)
                return

    for steps in line_steps:
        for goal in steps:
            reach(goal)
        here = steps + [h for h in here if h not in steps]
    for goal in next_steps:
        reach(goal)
    return lit


def _wrap(text: str, width: int = 26) -> str:
    parts = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False) or [text]
    return "<BR/>".join(html.escape(part) for part in parts)


def _legend() -> str:
    cells = []
    for status in STATUS_ORDER:
        fill, border, style, mark, words = STATUS_STYLE[status]
        cells.append(
            f'<TD BGCOLOR="{fill}" BORDER="2" COLOR="{border}" STYLE="{style}">'
            f'<FONT COLOR="#111111">{mark} {html.escape(words)}</FONT></TD>'
        )
    cells.append(f'<TD BGCOLOR="{LIT}"><FONT COLOR="white"><B> LINE n </B></FONT></TD>')
    cells.append('<TD><FONT COLOR="#111111">her metastatic line n</FONT></TD>')
    cells.append(f'<TD><FONT COLOR="{LIT}" POINT-SIZE="16"><B>━━➤</B></FONT></TD>')
    cells.append('<TD><FONT COLOR="#111111">her way so far and next</FONT></TD>')
    cells.append('<TD BORDER="1" COLOR="#6b6b6b" STYLE="rounded" BGCOLOR="#f4f4f4"><I>decision</I></TD>')
    return "<TR>" + "".join(cells) + "</TR>"


def to_dot(pathway: Pathway, answer: dict | None = None, title: str = "", subtitle: str = "") -> graphviz.Digraph:
    """The pathway in DOT: one node per step, one edge per link, with the patient's statuses when given."""
    statuses = step_statuses(answer) if answer else {}
    lines = lines_at_steps(pathway, answer) if answer else {}
    given: dict[str, list[int]] = {}
    for number in sorted(lines):
        for iri in lines[number]:
            given.setdefault(iri, []).append(number)
    ahead = next_steps(pathway, answer, lines) if answer else []
    lit = lit_links(pathway, [lines[n] for n in sorted(lines)], ahead) if answer else set()
    dot = graphviz.Digraph("pathway")
    dot.attr(rankdir="TB", nodesep="0.25", ranksep="0.45", fontname=FONT, bgcolor="white", labelloc="t", id="pathway")
    dot.attr("node", fontname=FONT, fontsize="12", margin="0.12,0.06", shape="box", fontcolor="#111111")
    dot.attr("edge", color="#8a8a8a", penwidth="1.3", arrowsize="0.7")
    rows = []
    if title:
        rows.append(f'<TR><TD COLSPAN="9"><FONT POINT-SIZE="16"><B>{html.escape(title)}</B></FONT></TD></TR>')
    if subtitle:
        rows.append(f'<TR><TD COLSPAN="9"><FONT COLOR="#333333">{html.escape(subtitle)}</FONT></TD></TR>')
    if answer:
        rows.append(_legend())
    elif rows:
        rows.append(
            '<TR><TD BORDER="1" COLOR="#333333"><B>treatment step</B></TD>'
            '<TD BORDER="1" COLOR="#6b6b6b" STYLE="rounded" BGCOLOR="#f4f4f4"><I>decision</I></TD></TR>'
        )
    if rows:
        dot.attr(label=f'<<TABLE BORDER="0" CELLSPACING="4" CELLPADDING="4">{"".join(rows)}</TABLE>>')
    for step in sorted(pathway.steps.values(), key=lambda s: s.order):
        classes = ["step", "treatment" if step.treatment else "decision"]
        cells = []
        attrs: dict[str, str] = {"id": pathway.ids[step.iri]}
        if step.iri in given:
            classes += ["given"] + [f"line-{n}" for n in given[step.iri]]
            badge = " · ".join(f"LINE {n}" for n in given[step.iri])
            cells.append(f'<TR><TD BGCOLOR="{LIT}"><FONT COLOR="white"><B> {badge} </B></FONT></TD></TR>')
        text = f"<B>{_wrap(step.label)}</B>" if step.treatment else f"<I>{_wrap(step.label)}</I>"
        cells.append(f"<TR><TD>{text}</TD></TR>")
        status = statuses.get(step.iri) if step.treatment else None
        if status:
            fill, border, style, mark, words = STATUS_STYLE[status]
            classes.append(f"status-{status.replace('_', '-')}")
            cells.append(f'<TR><TD><FONT POINT-SIZE="11" COLOR="{border}"><B>{mark} {words}</B></FONT></TD></TR>')
            wide = "3.5" if status == "recommended" else "2"
            attrs.update(style=f"filled,{style}", fillcolor=fill, color=border, penwidth=wide)
        elif step.treatment:
            attrs.update(style="filled", fillcolor="#ffffff", color="#333333", penwidth="1.6")
        else:
            attrs.update(style="rounded,filled", fillcolor="#f4f4f4", color="#6b6b6b", penwidth="1")
        if step.entry:
            classes.append("entry")
        if step.iri in ahead:
            classes.append("next")
        attrs["class"] = " ".join(classes)
        label = f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">{"".join(cells)}</TABLE>>'
        dot.node(pathway.ids[step.iri], label=label, **attrs)
    for link in pathway.links:
        attrs = {"id": pathway.ids[link.iri], "class": "link"}
        if (link.source, link.target) in lit:
            attrs.update({"class": "link lit", "color": LIT, "penwidth": "4", "arrowsize": "0.9"})
        dot.edge(pathway.ids[link.source], pathway.ids[link.target], **attrs)
    return dot


def run_dot(source: str, fmt: str, timeout: float = 30.0) -> bytes:
    """Lay out and render DOT text with Graphviz's `dot`."""
    exe = shutil.which("dot")
    if exe is None:
        raise DrawingUnavailable(
            "Graphviz is not installed: the pathway is laid out by its 'dot' program (Debian: apt-get install graphviz)"
        )
    try:
        done = subprocess.run(
            [exe, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DrawingUnavailable(f"Graphviz's dot did not finish within {timeout:g} s") from exc
    if done.returncode != 0 or not done.stdout:
        raise DrawingUnavailable(f"Graphviz's dot failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def annotate(svg: bytes, pathway: Pathway, answer: dict | None, title: str) -> bytes:
    """Add what dot cannot write: each step's IRI, label, status and lines as data- attributes and its label as
    its <title>; keyboard focus, a role and a spoken label on treatment steps; each link's IRI and ends."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(svg)
    steps = {pathway.ids[iri]: step for iri, step in pathway.steps.items()}
    links = {pathway.ids[link.iri]: link for link in pathway.links}
    statuses = step_statuses(answer) if answer else {}
    for group in root.iter(f"{{{SVG_NS}}}g"):
        ident = group.get("id", "")
        name = group.find(f"{{{SVG_NS}}}title")
        if ident in steps:
            step = steps[ident]
            status = statuses.get(step.iri) if step.treatment else None
            lines = [c.removeprefix("line-") for c in group.get("class", "").split() if c.startswith("line-")]
            group.set("data-step", step.iri)
            group.set("data-label", step.label)
            group.set("data-kind", "treatment" if step.treatment else "decision")
            if status:
                group.set("data-status", status)
            if lines:
                group.set("data-lines", " ".join(lines))
            if name is not None:
                name.text = step.label
            if step.treatment:
                spoken = [step.label, STATUS_STYLE[status][4] if status else "treatment step"]
                spoken += [f"her metastatic line {n} was given here" for n in lines]
                group.set("tabindex", "0")
                group.set("role", "button")
                group.set("aria-label", ", ".join(spoken))
        elif ident in links:
            link = links[ident]
            group.set("data-link", link.iri)
            group.set("data-source", link.source)
            group.set("data-target", link.target)
            if name is not None:
                name.text = f"{pathway.steps[link.source].label} → {pathway.steps[link.target].label}"
    root.set("role", "group" if answer else "img")
    root.set("aria-label", title or "the pathway")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


class PathwayDrawer:
    """The pathway read once from the graph; `draw` lays it out for one patient's answer, or bare."""

    def __init__(self, store: OxigraphStore, timeout: float = 30.0):
        self.pathway = read_pathway(store)
        self.timeout = timeout

    def dot(self, answer: dict | None = None, title: str = "", subtitle: str = "") -> str:
        return to_dot(self.pathway, answer, title, subtitle).source

    def draw(self, answer: dict | None = None, fmt: str = "svg", title: str = "", subtitle: str = "") -> bytes:
        """The picture as SVG (annotated) or PNG bytes; raise DrawingUnavailable without Graphviz."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown picture format {fmt!r}: use {' or '.join(FORMATS)}")
        out = run_dot(self.dot(answer, title, subtitle), fmt, self.timeout)
        return annotate(out, self.pathway, answer, title) if fmt == "svg" else out


def titles(answer: dict | None, version: str) -> tuple[str, str]:
    """The picture's heading and the line under it: the patient (or the bare pathway), the graph version,
    and that it is not medical advice."""
    if answer is None:
        return "The pathway", f"knowledge graph version {version} · not medical advice"
    assessment = answer.get("assessment", {})
    parts = [
        f"endocrine {assessment.get('endocrine_sensitivity') or 'sensitivity unknown'}",
        f"HER2 {assessment.get('her2_category') or 'unresolved'}",
        {0: "no metastatic line yet", 1: "1 metastatic line"}.get(
            int(assessment.get("metastatic_lines") or 0), f"{assessment.get('metastatic_lines')} metastatic lines"
        ),
    ]
    return (
        f"Patient {answer.get('patient_id', '')}: " + ", ".join(parts),
        f"knowledge graph version {answer.get('knowledge_graph_version', version)} · not medical advice",
    )
