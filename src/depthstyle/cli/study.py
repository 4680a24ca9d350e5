"""``depthstyle study``: create a preference study, list studies, report on the answers."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from depthstyle.cli.common import EXIT_OK, add_common, positive_int, unit_float
from depthstyle.errors import SettingsError

log = logging.getLogger("depthstyle.study")

STUDY_EXAMPLES = """\
examples:
  # outputs named <content>__<style>.png, one folder per method
  depthstyle stylize photos/ -s paintings/ --depth none --name '{content}__{style}' -o out/adain
  depthstyle stylize photos/ -s paintings/ --name '{content}__{style}' -o out/depth
  depthstyle study create depth-vs-adain --method adain=out/adain --method depth=out/depth \\
      --contents photos/ --styles paintings/ --db study.db
  depthstyle serve --study-db study.db      # participants open http://HOST:8000/study/depth-vs-adain
  depthstyle study report depth-vs-adain --db study.db -o report/   # report/report.html
"""


def _method(text: str) -> tuple[str, str]:
    label, sep, folder = text.partition("=")
    if not sep or not label or not folder:
        raise argparse.ArgumentTypeError(f"expected LABEL=DIR, got {text!r}")
    return label, folder


def _cmd_create(args: argparse.Namespace) -> int:
    from depthstyle.study import DEFAULT_QUESTIONS, StudyStore, build_design

    methods = dict(args.method)
    if len(methods) != len(args.method):
        raise SettingsError("two --method options have the same label")
    design = build_design(args.name, methods, args.contents, args.styles,
                          tuple(args.question) if args.question else DEFAULT_QUESTIONS,
                          broken_checks=args.broken_checks, repeat_checks=args.repeat_checks,
                          seed=args.seed)
    store = StudyStore(args.db)
    store.create_study(design, replace=args.replace)
    n = len(design.pairs())
    per = n + design.broken_checks + min(design.repeat_checks, n)
    log.info("study %r in %s: %d methods, %d items, %d trials per participant (%d with the "
                "checks), %d question(s) each", design.name, args.db, len(design.methods),
                len(design.items), n, per, len(design.questions))
    if not args.quiet:
        print(f"/study/{design.name}")
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    from depthstyle.study import StudyStore

    store = StudyStore(args.db)
    for name in store.studies():
        answers = store.answers(name)
        print(f"{name}: {store.participant_count(name)} signed up, "
              f"{len({a.token for a in answers})} answered, {len(answers)} answers")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from depthstyle.study import StudyStore, analyse, write_report

    if not Path(args.db).exists():
        raise SettingsError(f"{args.db}: no study database there")
    store = StudyStore(args.db)
    design = store.study(args.name)
    answers = store.answers(args.name)
    if not answers:
        raise SettingsError(f"study {args.name!r} has no answers yet")
    rep = analyse(design, answers, max_broken=args.max_broken,
                  max_repeat_rate=args.max_repeat_rate, bootstrap=args.bootstrap,
                  include_incomplete=not args.complete_only)
    files = write_report(rep, args.output, overwrite=args.overwrite)
    excluded = sum(c.excluded for c in rep.participants)
    log.info("%d participants (%d excluded), %d judgements; wrote %s", len(rep.participants),
                excluded, len(rep.judgements), ", ".join(str(f) for f in files))
    return EXIT_OK


def add_parser(sub) -> None:
    """Add ``study create|list|report``."""
    p = sub.add_parser("study", help="preference studies: create, list, report",
                       description="A built-in two-alternative forced-choice study of "
                                   "stylization methods, served by `depthstyle serve "
                                   "--study-db` (docs/study.md).",
                       epilog=STUDY_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ss = p.add_subparsers(dest="study_command", metavar="ACTION", required=True)
    c = ss.add_parser("create", help="create a study from folders of outputs",
                      description="Check that every method covers the same (content, style) "
                                  "pairs and store the study.",
                      epilog=STUDY_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("name", help="study name (letters, digits, - and _); its page is /study/NAME")
    c.add_argument("--method", action="append", type=_method, required=True,
                   metavar="LABEL=DIR",
                   help="a method and its folder of <content>__<style>.png outputs; repeat")
    c.add_argument("--contents", required=True, metavar="DIR",
                   help="folder with the original photos (<content>.jpg/.png)")
    c.add_argument("--styles", required=True, metavar="DIR",
                   help="folder with the paintings (<style>.jpg/.png)")
    c.add_argument("--question", action="append", metavar="TEXT",
                   help="a question (repeat; default: the two of the paper: painting quality "
                        "and depth)")
    c.add_argument("--db", default="study.db", help="SQLite file or postgresql:// URL "
                   "(default: %(default)s)")
    c.add_argument("--broken-checks", type=int, default=1, metavar="N",
                   help="screens with a plainly broken output per participant (default: 1)")
    c.add_argument("--repeat-checks", type=int, default=1, metavar="N",
                   help="screens repeated with sides swapped per participant (default: 1)")
    c.add_argument("--seed", type=int, default=0,
                   help="seed of the per-participant order and sides (default: 0)")
    c.add_argument("--replace", action="store_true",
                   help="redefine a study of that name that has no answers yet")
    add_common(c)
    c.set_defaults(func=_cmd_create)
    ls = ss.add_parser("list", help="studies in a database with their answer counts",
                       description="List the studies of a database.")
    ls.add_argument("--db", default="study.db", help="SQLite file or postgresql:// URL")
    add_common(ls)
    ls.set_defaults(func=_cmd_list)
    r = ss.add_parser("report", help="statistics and report.html of a study's answers",
                      description="Win rates with Wilson intervals and binomial tests, "
                                  "Bradley-Terry scores with bootstrap intervals, per style and "
                                  "per question, agreement, attention checks and exclusions.")
    r.add_argument("name", help="study name")
    r.add_argument("--db", default="study.db", help="SQLite file or postgresql:// URL")
    r.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for report.html, results.csv, bradley_terry.csv, "
                        "participants.csv")
    r.add_argument("--max-broken", type=int, default=0, metavar="N",
                   help="exclude participants who chose the broken output more than N times "
                        "(default: 0)")
    r.add_argument("--max-repeat-rate", type=unit_float, default=1.0, metavar="F",
                   help="exclude participants who changed more than this share of their "
                        "repeated answers, e.g. 0.5 (default: 1 = report the repeats, exclude "
                        "on the broken-output check only)")
    r.add_argument("--complete-only", action="store_true",
                   help="leave out participants who did not finish")
    r.add_argument("--bootstrap", type=positive_int, default=1000, metavar="N",
                   help="bootstrap resamples for the Bradley-Terry intervals (default: 1000)")
    r.add_argument("--overwrite", action="store_true", help="replace existing report files")
    add_common(r)
    r.set_defaults(func=_cmd_report)
