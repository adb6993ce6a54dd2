"""`regenheart`: refresh the warehouse, generate sample transfers, build docs, write the submission
package, query the marts.

Exit codes of `refresh`:
  0  every new transfer was loaded and every step passed (or nothing was new)
  1  one or more transfers were rejected, each printed with its reason; the good ones were still
     loaded, built and published
  2  wrong usage, or a missing landing folder
  3  a step or a blocking gate failed. The last line says which: "nothing was published" (a step
     up to publication, or a gate, failed: the published warehouse is as it was), or "the
     warehouse WAS published" (the study report or the exports failed after publication; the
     next refresh writes them again)
  4  another refresh of the same warehouse still ran when --wait ran out; this one did nothing

One refresh at a time: `refresh` holds an exclusive lock on <warehouse dir>/<stem>.refresh.lock
(orchestration/refresh_lock.py) from before it first looks at the build database to its end, and
a second one waits for it (--wait). Dagster runs started from the UI, the schedule or the sensor
take the same lock.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

import duckdb

from orchestration.settings import SAMPLE_LANDING_DIR, Settings

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_BUSY = 4
DEFAULT_WAIT_SECONDS = 3600


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="regenheart", description=__doc__.splitlines()[0])
    refresh_description, refresh_epilog = _refresh_help()
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    refresh = commands.add_parser(
        "refresh",
        help="load new complete transfers and rebuild the warehouse (the nightly job's work)",
        description=refresh_description,
        epilog=refresh_epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    refresh.add_argument(
        "--wait",
        type=_seconds,
        default=DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help="when another refresh of the same warehouse is running, wait up to SECONDS for it to end "
        "(a line every minute), then exit 4 having done nothing; 0: do not wait (default: %(default)s)",
    )
    refresh.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild and republish even when nothing is new (a refresh with no new transfer and "
        "unchanged code otherwise stops after ingestion)",
    )
    refresh.add_argument(
        "--rebuild-history",
        action="store_true",
        help="rebuild the record history from raw instead of adding the new transfers to it "
        "(the result is the same; use it after restoring raw or changing how history is built)",
    )
    refresh.set_defaults(command=refresh_command)

    generate = commands.add_parser("generate", help="write deterministic sample transfers (DTS v1.0)")
    generate.add_argument("--out", type=Path, default=SAMPLE_LANDING_DIR, help="landing folder to write (default: %(default)s)")
    generate.add_argument("--sites", type=_positive, default=1)
    generate.add_argument("--subjects-per-site", type=_positive, default=30)
    generate.add_argument("--transfers", type=_positive, default=4)
    generate.add_argument("--seed", type=int, default=None, help="random seed (default: the sample's)")
    generate.add_argument("--force", action="store_true", help="empty --out first if it holds anything")
    generate.set_defaults(command=generate_command)

    docs = commands.add_parser(
        "docs",
        help="build dbt's documentation site of the warehouse (offline) and, with --serve, serve it",
        description="Writes <warehouse dir>/docs/dbt/ from the build database; needs a refresh first.",
    )
    docs.add_argument("--serve", action="store_true", help="serve the site on 127.0.0.1 until Ctrl-C")
    docs.add_argument("--port", type=int, default=8080, help="port for --serve (default: %(default)s)")
    docs.set_defaults(command=docs_command)

    submission = commands.add_parser(
        "submission",
        help="write the SDTM and ADaM submission package (XPT, Dataset-JSON, define.xml) from the published warehouse",
        description=(
            "Writes <warehouse dir>/submission/ from the published file (REGENHEART_WAREHOUSE): sdtm/<dataset>.xpt and\n"
            "sdtm/<dataset>.json for every table of schema sdtm, adam/<dataset>.xpt and adam/<dataset>.json for every\n"
            "table of schema adam, in each folder define.xml (Define-XML 2.1: SDTMIG 3.4, ADaMIG 1.3) and define.html,\n"
            "and conformance.json. Blocking checks on the files of both folders: define.xml against the Define-XML 2.1\n"
            "schema, every .json against the Dataset-JSON v1.1 schema, define.xml and the data agreeing both ways,\n"
            "every coded value in its codelist. The new package replaces the previous one as a whole, only when every\n"
            "check passed."
        ),
        epilog=(
            "Exit codes: 0 the package was written and every check passed; 2 wrong usage, or no published warehouse;\n"
            "3 a blocking check failed (each finding printed as FAILED <check>: <folder>/<dataset>.<variable>: <what>;\n"
            "the previous package is unchanged).\n"
            "It reads the published file only and takes no refresh lock: a refresh may run meanwhile (the package is\n"
            "cut from the publication it opened). Only when dbt's manifest is older than the dbt project does it wait\n"
            "for a running refresh (--wait) to parse the project, as a refresh would."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    submission.add_argument(
        "--wait",
        type=_seconds,
        default=DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help="when dbt's manifest must be prepared and a refresh is running, wait up to SECONDS for it "
        "(default: %(default)s)",
    )
    submission.set_defaults(command=submission_command)

    query = commands.add_parser("query", help="run one SQL query on the warehouse (read-only) and print it")
    query.add_argument("sql")
    query.set_defaults(command=query_command)
    return parser


def _refresh_help() -> tuple[str, str]:
    """The refresh command's description and epilog: the settings, the exit codes (module docstring)."""
    description = (
        "Settings: REGENHEART_LANDING_DIR (default: the sample in seeds/landing),\n"
        "REGENHEART_WAREHOUSE (default: data/warehouse.duckdb)."
    )
    return description, __doc__.split("\n\n", 1)[1].strip()


def _seconds(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def refresh_command(args) -> int:
    from orchestration.refresh_lock import RefreshLockBusy, hold_refresh_lock

    settings = Settings.from_env()
    # dbt, run as a subprocess from its own folder, must see the same absolute paths.
    os.environ["REGENHEART_WAREHOUSE"] = str(settings.warehouse)
    os.environ["REGENHEART_LANDING_DIR"] = str(settings.landing_dir)
    if not settings.landing_dir.is_dir():
        _say(f"regenheart: landing folder {settings.landing_dir} does not exist (REGENHEART_LANDING_DIR)")
        return EXIT_USAGE
    with contextlib.ExitStack() as holding:
        try:
            holding.enter_context(hold_refresh_lock(settings.warehouse, args.wait, say=_say_refresh))
        except RefreshLockBusy as busy:
            waited = "" if args.wait else "; not waiting (--wait 0)"
            _say(f"refresh: {busy}{waited}; nothing was done: run it again later, or wait longer with --wait SECONDS")
            return EXIT_BUSY
        return _refresh_holding_lock(settings, args)


def _refresh_holding_lock(settings: Settings, args) -> int:
    from orchestration.build_state import NOTHING_NEW
    from orchestration.refresh import nothing_new, run_refresh

    if not (args.rebuild or args.rebuild_history) and nothing_new(settings):
        _say(f"refresh: landing {settings.landing_dir}, warehouse {settings.warehouse}")
        _say(f"refresh: {NOTHING_NEW} (checked before starting Dagster)")
        return _done(settings, rejected=False)
    outcome = run_refresh(settings, say=_say, rebuild_history=args.rebuild_history, rebuild=args.rebuild)
    for rejection in outcome.rejected:
        _say(f"REJECTED {rejection}")
    for failure in outcome.failures:
        _say(f"FAILED {failure}")
    if not outcome.failures:
        return _done(settings, rejected=bool(outcome.rejected))
    if outcome.published:
        _say(
            f"refresh failed after publishing: {', '.join(outcome.failed_steps) or 'a later step'} failed, but the "
            "warehouse WAS published (analysts see the new build); the next refresh writes the study report and "
            "the exports again"
        )
    else:
        _say("refresh failed: nothing was published (the published warehouse is as it was); see the lines above")
    return EXIT_FAILED


def _say_refresh(line: str) -> None:
    _say(f"refresh: {line}")


def _done(settings: Settings, rejected: bool) -> int:
    _say(f"warehouse: {settings.warehouse}")
    print(f"Warehouse: {settings.warehouse}")
    return EXIT_REJECTED if rejected else EXIT_OK


def generate_command(args) -> int:
    from orchestration.generate import DEFAULT_SEED, generate

    out: Path = args.out.resolve()
    if out.exists() and any(out.iterdir()):
        if not args.force:
            _say(f"regenheart: {out} is not empty; pass --force to replace what is there")
            return EXIT_USAGE
        import shutil

        shutil.rmtree(out)
    seed = DEFAULT_SEED if args.seed is None else args.seed
    written = generate(
        out,
        sites=args.sites,
        subjects_per_site=args.subjects_per_site,
        transfers=args.transfers,
        seed=seed,
        progress=_say,
    )
    print(f"Wrote {len(written)} transfers to {out}")
    return EXIT_OK


def docs_command(args) -> int:
    from orchestration.dbt_docs import DocsUnavailable, build_dbt_docs, serve_dbt_docs

    try:
        folder = build_dbt_docs(Settings.from_env(), say=_say)
    except DocsUnavailable as exc:
        _say(f"regenheart: {exc}")
        return EXIT_FAILED
    print(f"dbt docs: {folder / 'index.html'}")
    if args.serve:
        serve_dbt_docs(folder, args.port, say=_say)
    return EXIT_OK


def submission_command(args) -> int:
    from orchestration.refresh_lock import RefreshLockBusy

    settings = Settings.from_env()
    if not settings.warehouse.is_file():
        _say(f"regenheart: no published warehouse at {settings.warehouse} (REGENHEART_WAREHOUSE); run `regenheart refresh` first")
        return EXIT_USAGE
    try:
        manifest = _prepared_dbt_manifest(settings, args.wait)
    except RefreshLockBusy as busy:
        _say(f"submission: dbt's manifest is out of date and {busy}; nothing was written (the previous package stays)")
        return EXIT_FAILED
    from orchestration.submission import NoPublishedWarehouse, SubmissionFailed, write_submission

    _say(f"submission: from {settings.warehouse}")
    try:
        submission = write_submission(settings.warehouse, manifest, say=_say)
    except NoPublishedWarehouse as missing:
        _say(f"regenheart: {missing}")
        return EXIT_USAGE
    except duckdb.Error as error:  # the machine's fault (memory, disk): nothing replaced the package
        _say(f"submission failed: {type(error).__name__}: {str(error).splitlines()[0]}; nothing was written "
             f"(the previous package in {settings.warehouse.parent / 'submission'} is unchanged)")
        return EXIT_FAILED
    except SubmissionFailed as failed:
        for finding in failed.findings:
            _say(f"FAILED {finding}")
        _say(f"submission failed: {len(failed.findings)} blocking finding(s); nothing was written "
             f"(the previous package in {settings.warehouse.parent / 'submission'} is unchanged)")
        return EXIT_FAILED
    _say(f"submission: every check passed ({submission.seconds:.1f} s)")
    print(f"Submission package: {submission.folder}")
    return EXIT_OK


def _prepared_dbt_manifest(settings: Settings, wait: int) -> Path:
    """dbt's manifest (the models' metadata), parsed again when the dbt project changed since. Parsing
    opens the build database (dbt's profile), so it waits for a running refresh, holding the lock."""
    from orchestration.dbt_manifest import MANIFEST_PATH, manifest_is_current
    from orchestration.publishing import build_database_path
    from orchestration.refresh_lock import hold_refresh_lock

    if not manifest_is_current():
        from orchestration.defs.dbt_project import prepare_dbt_manifest

        os.environ["REGENHEART_BUILD_DATABASE"] = str(build_database_path(settings.warehouse))
        with hold_refresh_lock(settings.warehouse, wait, say=lambda line: _say(f"submission: {line}")):
            _say("submission: preparing the dbt manifest")
            prepare_dbt_manifest()
    return MANIFEST_PATH


def query_command(args) -> int:
    import duckdb

    settings = Settings.from_env()
    if not settings.warehouse.exists():
        _say(f"regenheart: no warehouse at {settings.warehouse}; run `regenheart refresh` first")
        return EXIT_USAGE
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        try:
            con.sql(args.sql).show(max_rows=200, max_width=200)
        except duckdb.Error as exc:
            _say(f"regenheart: {exc}")
            return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
