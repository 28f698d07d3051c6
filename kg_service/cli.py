"""The command line of mbc-kg: one command per task (`mbc-kg --help` lists every command, `mbc-kg COMMAND
--help` explains one and each of its options)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path

from kg_service.core.errors import BadRequest, InvalidPatient

STATUS_MARK = {
    "recommended": "RECOMMENDED",
    "eligible": "eligible",
    "undetermined": "undetermined",
    "not_eligible": "not eligible",
}
CONTENT_TYPES = {
    ".json": "application/json",
    ".ttl": "text/turtle",
    ".jsonld": "application/ld+json",
    ".nt": "application/n-triples",
}


def _read_patient(path: str) -> tuple[bytes, str]:
    if path == "-":
        return sys.stdin.buffer.read(), "application/json"
    file = Path(path)
    return file.read_bytes(), CONTENT_TYPES.get(file.suffix.lower(), "application/json")


def cmd_check(args: argparse.Namespace) -> int:
    from kg_service.graph.checks import check_graph
    from kg_service.graph.loader import load_graph

    graph = load_graph()
    report = check_graph(graph, reasoner=not args.no_reasoner)
    print(f"knowledge graph: {len(graph)} triples")
    print("\n".join(report.lines()))
    print("check: PASSED" if report.ok else "check: FAILED")
    return 0 if report.ok else 1


def _print_invalid(exc: InvalidPatient) -> None:
    print("The patient document is invalid or outside the pathway:", file=sys.stderr)
    for violation in exc.violations:
        print(f"  - {violation.field}: {violation.message}", file=sys.stderr)


def cmd_recommend(args: argparse.Namespace) -> int:
    from kg_service.service import Reasoner

    reasoner = Reasoner()
    body, content_type = _read_patient(args.patient)
    try:
        answer = reasoner.recommend(body, content_type)
    except InvalidPatient as exc:
        if args.json:
            print(
                json.dumps({"error": "invalid_patient", "violations": [v.as_dict() for v in exc.violations]}, indent=2)
            )
        else:
            _print_invalid(exc)
        return 2
    except BadRequest as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
        return 0
    print_table(answer, verbose=args.verbose)
    return 0


def print_table(answer: dict, verbose: bool = False) -> None:
    a = answer["assessment"]
    print(f"Patient {answer['patient_id']}  (knowledge graph {answer['knowledge_graph_version']})")
    print(
        f"Endocrine sensitivity: {a['endocrine_sensitivity']}   HER2: {a['her2_category']}   "
        f"metastatic lines: {a['metastatic_lines']}"
    )
    for p in a.get("pathway_position", []):
        print(f"  line {p['line']}: {p['step']}" + (f" ({p['regimen']})" if p.get("regimen") else ""))
    print()
    print(f"{'STATUS':<13} {'STEP':<40} {'REGIMEN':<34} WHY")
    for option in answer["options"]:
        if option["status"] == "not_eligible" and not verbose:
            continue
        reasons = option["reasons"]  # failing criteria first
        if option["status"] == "not_eligible" or not option["missing"]:  # what closed it comes first
            why, rest = (reasons[0] if reasons else ""), reasons[1:]
        else:  # undetermined: what to test, then every reason
            why, rest = "missing: " + "; ".join(option["missing"]), reasons
        print(
            f"{STATUS_MARK[option['status']]:<13} {option['step']['label'][:40]:<40} "
            f"{option['regimen']['label'][:34]:<34} {why}"
        )
        if verbose:
            for reason in rest:
                print(textwrap.indent(reason, " " * 89))
            trials = [f"{e['label']} {e['nct']}" for e in option["evidence"] if e["type"] == "trial"]
            if trials:
                print(" " * 89 + "evidence: " + ", ".join(trials))
    hidden = sum(1 for o in answer["options"] if o["status"] == "not_eligible")
    if hidden and not verbose:
        print(f"\n{hidden} option(s) not eligible are hidden; --verbose shows them with their reasons.")
    for warning in answer["warnings"]:
        print(f"warning: {warning}")


def cmd_validate(args: argparse.Namespace) -> int:
    from kg_service.service import Reasoner

    reasoner = Reasoner()
    body, content_type = _read_patient(args.patient)
    try:
        verdict = reasoner.validate(body, content_type)
    except BadRequest as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(verdict, indent=2))
    elif verdict["valid"]:
        print(f"valid: patient {verdict['patient_id']}")
        for warning in verdict.get("warnings", []):
            print(f"warning: {warning}")
    else:
        print("invalid:")
        for v in verdict["violations"]:
            print(f"  - {v['field']}: {v['message']}")
    return 0 if verdict["valid"] else 1


def cmd_export(args: argparse.Namespace) -> int:
    from kg_service.graph.export import FORMAT_NAMES, Exporter
    from kg_service.graph.loader import load_graph

    media_type = FORMAT_NAMES.get(args.format.lower())
    if media_type is None:
        print(f"error: unknown format {args.format!r}; use one of {', '.join(sorted(FORMAT_NAMES))}", file=sys.stderr)
        return 2
    data = Exporter(load_graph()).serialize(args.what, media_type)
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {args.out} ({len(data)} bytes, {media_type})")
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from kg_service.graph import queries as query_catalog
    from kg_service.graph.loader import load_graph
    from kg_service.graph.query_runner import UnknownParameter, run_oxigraph
    from kg_service.store.oxigraph import OxigraphStore

    if args.list or not args.name:
        for name in query_catalog.names():
            if name.startswith(("catalog/", "eligibility/", "checks/")):
                first = query_catalog.header(name).split("\n")[0].removeprefix("What it answers:").strip()
                params = ", ".join(query_catalog.parameters(name))
                print(f"{name:48} {first}" + (f"  [params: {params}]" if params else ""))
        return 0
    name = args.name if "/" in args.name else f"catalog/{args.name}"
    params = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"error: --param takes key=value, got {item!r}", file=sys.stderr)
            return 2
        params[key] = value
    try:
        result = run_oxigraph(OxigraphStore(load_graph()), name, params)
    except KeyError as exc:
        print(f"error: {exc.args[0]}; `mbc-kg query --list` lists them", file=sys.stderr)
        return 2
    except UnknownParameter as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        rows = [{k: (None if v is None else str(v)) for k, v in row.items()} for row in result.rows]
        print(json.dumps({"variables": result.variables, "rows": rows}, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(result.variables)
        for row in result.rows:
            writer.writerow(["" if row[v] is None else str(row[v]) for v in result.variables])
    else:
        print("\t".join(result.variables))
        for row in result.rows:
            print("\t".join("" if row[v] is None else str(row[v]) for v in result.variables))
        print(f"({len(result.rows)} rows)", file=sys.stderr)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from kg_service.graph.loader import load_graph
    from kg_service.store.remote import KG_GRAPH, RemoteError, RemoteStore

    remote = RemoteStore(args.endpoint)
    try:
        count = remote.load_graph(load_graph())
        print(f"loaded {count} triples into <{KG_GRAPH}> at {args.endpoint} (the server now holds {remote.count()})")
    except (RemoteError, OSError) as exc:
        print(f"error: could not load the graph into {args.endpoint}: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_screen(args: argparse.Namespace) -> int:
    import datetime as dt

    from kg_service.cohort.screening import ResumeError, screen, screen_to_file

    if args.resume and not args.out:
        print("error: --resume continues a run written with --out; give the same --out", file=sys.stderr)
        return 2
    # bytes: a line that is not UTF-8 is a bad line of its own, not the end of the run
    source = sys.stdin.buffer if args.patients == "-" else open(args.patients, "rb")  # noqa: SIM115
    total = None
    if args.patients != "-":
        with open(args.patients, "rb") as counting:
            total = sum(1 for _ in counting)
    fmt = args.format or ("jsonl" if args.out and args.out.endswith((".jsonl", ".ndjson")) else "csv")
    options = {
        "workers": args.workers,
        "batch_size": args.batch_size,
        "progress": not args.no_progress,
        "total": total,
        "dask": args.dask,
        "today": dt.date.fromisoformat(args.today) if args.today else None,
    }
    try:
        if args.out:
            summary = screen_to_file(source, Path(args.out), fmt=fmt, resume=args.resume, **options)
        else:
            summary = screen(source, sys.stdout, fmt=fmt, **options)
    except ResumeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    print("\n".join(summary.report()), file=sys.stderr)
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    import datetime as dt

    from kg_service.cohort.synthetic import CohortGenerator
    from kg_service.graph.loader import load_graph

    today = dt.date.fromisoformat(args.today) if args.today else dt.datetime.now(dt.UTC).date()
    generator = CohortGenerator(load_graph(), today)
    out = sys.stdout if not args.out else open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    try:
        for document in generator.cohort(args.n, args.seed):
            out.write(json.dumps(document) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.out:
        print(f"wrote {args.n} patients to {args.out}", file=sys.stderr)
    return 0


def cmd_draw(args: argparse.Namespace) -> int:
    from kg_service.drawing.pathway import DrawingUnavailable, PathwayDrawer, titles
    from kg_service.service import Reasoner

    reasoner = Reasoner(threads=1)
    answer = None
    if args.patient:
        body, content_type = _read_patient(args.patient)
        try:
            answer = reasoner.recommend(body, content_type)
        except InvalidPatient as exc:
            _print_invalid(exc)
            return 2
        except BadRequest as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    fmt = args.format or (Path(args.out).suffix.lstrip(".").lower() if args.out else "svg")
    try:
        picture = PathwayDrawer(reasoner.store).draw(answer, fmt, *titles(answer, reasoner.version))
    except (DrawingUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_bytes(picture)
        print(f"wrote {args.out} ({len(picture):,} bytes)", file=sys.stderr)
    else:
        sys.stdout.buffer.write(picture)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run("kg_service.api:app", host=args.host, port=args.port, log_level="info")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mbc-kg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="validate the knowledge graph: SHACL shapes, SPARQL checks, HermiT")
    p.add_argument("--no-reasoner", action="store_true", help="skip HermiT (needs Java)")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("recommend", help="every option of the pathway for a patient (JSON, .ttl or .jsonld)")
    p.add_argument("patient", help="patient file, or - for standard input")
    p.add_argument("--json", action="store_true", help="print the contract's JSON answer")
    p.add_argument("--verbose", "-v", action="store_true", help="show every option with all its reasons")
    p.set_defaults(func=cmd_recommend)
    p = sub.add_parser("validate", help="check a patient document against the patient shapes")
    p.add_argument("patient", help="patient file (.json, .ttl, .jsonld, .nt), or - for standard input")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON (valid, violations, warnings)")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("export", help="write the graph (or the OWL vocabulary) in an RDF syntax")
    p.add_argument(
        "--what", choices=["graph", "ontology"], default="graph", help="the whole graph, or the OWL vocabulary only"
    )
    p.add_argument("--format", default="ttl", help="ttl, xml (RDF/XML), jsonld or nt")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("query", help="run a catalog query by name (mbc-kg query --list)")
    p.add_argument("name", nargs="?", help="e.g. regimens-by-biomarker, or checks/step-label-unique")
    p.add_argument("--param", action="append", help="bind a parameter: key=value (IRI, CURIE or literal)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table", help="how to print the rows")
    p.add_argument("--list", action="store_true", help="list the queries with what they answer")
    p.set_defaults(func=cmd_query)
    p = sub.add_parser("load", help="load the graph into an external SPARQL server (e.g. Oxigraph server)")
    p.add_argument("--endpoint", required=True, help="the server's base URL, e.g. http://127.0.0.1:7878")
    p.set_defaults(func=cmd_load)
    p = sub.add_parser("screen", help="screen a cohort: NDJSON patient documents in, CSV or JSON lines out")
    p.add_argument("patients", help="NDJSON file of contract documents, or - for standard input")
    p.add_argument("--out", help="output file (.csv, or .jsonl for one answer per line); default standard output")
    p.add_argument("--format", choices=["csv", "jsonl"], help="default: from --out's suffix, else csv")
    p.add_argument(
        "--workers", type=int, help="processes, each loading the graph once (default: the cores this process may use)"
    )
    p.add_argument("--batch-size", type=int, default=50, help="patients judged and derived per query batch")
    p.add_argument("--today", help="the reference date of every patient (default: today; kept by --resume)")
    p.add_argument(
        "--resume", action="store_true", help="continue the interrupted run that wrote OUT.partial, from its checkpoint"
    )
    p.add_argument("--dask", metavar="ADDRESS", help="run the batches on a Dask cluster, e.g. tcp://scheduler:8786")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on standard error")
    p.set_defaults(func=cmd_screen)
    p = sub.add_parser("synth", help="generate synthetic, valid patient documents (NDJSON)")
    p.add_argument("--n", type=int, default=1000, help="how many patients (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same cohort (default 1)")
    p.add_argument("--today", help="the date the cohort is generated as of (default: today)")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_synth)
    p = sub.add_parser("draw", help="the pathway as a picture (SVG or PNG): bare, or one patient's way through it")
    p.add_argument("patient", nargs="?", help="a patient (JSON, .ttl, .jsonld, .nt; '-' for stdin); none: bare")
    p.add_argument("--out", help="the file to write (default: standard output)")
    p.add_argument("--format", choices=["svg", "png"], help="default: from --out's suffix, else svg")
    p.set_defaults(func=cmd_draw)
    p = sub.add_parser("serve", help="serve the HTTP API (kg_service.api:app)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.set_defaults(func=cmd_serve)
    for choice in sub._choices_actions:  # each command's --help opens with what it does
        command = sub.choices[choice.dest]
        command.description = command.description or choice.help
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader of the output went away (`| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 1
    except OSError as exc:  # a file named on the command line that cannot be read (or written): no traceback
        if exc.filename is None:
            raise
        print(f"mbc-kg {args.command}: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
