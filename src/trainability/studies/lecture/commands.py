"""The lecture study's own command: ``trainability lecture-report`` (``results/lecture.md``;
the work is in ``report.py``)."""

from __future__ import annotations

from trainability.study import load_spec


def add_commands(sub) -> None:
    p = sub.add_parser(
        "lecture-report",
        help="lecture study: results/lecture.md, the lecture in a minute",
        description="Write (atomically) the lecture in a minute: the running example's "
        "claims judged on the lecture's networks, the side-by-side table and the figures "
        "redrawn, from the lecture study's tables.",
    )
    p.add_argument("--spec", required=True, help="the lecture study's spec as JSON")
    p.add_argument("--results", default="results", help="the results folder")
    p.set_defaults(func=_run)


def _run(args):
    # as the CLI's own commands: pandas and Jinja2 only when this command runs, not for
    # every `trainability train` that builds the parser
    from trainability.studies.lecture import report

    out = report.write(load_spec("lecture", args.spec), args.results)
    print(f"wrote {out}")
