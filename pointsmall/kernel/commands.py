"""What every management command shares: strict arguments, dry runs, exit codes, progress, summary.

Operators run these by hand and from cron, so a command behaves the same way everywhere:

- **Exit codes** mean something: ``EXIT_OK`` (0) done; ``EXIT_REJECTED`` (1) it ran, but some
  rows were rejected or the check found violations; ``EXIT_USAGE`` (2) bad arguments, nothing
  was done. A bad argument is one line on stderr, never a traceback.
- **Arguments** are parsed by the types below (``bounded_int``, ``strict_date``,
  ``strict_datetime``, ``strict_month``): an out-of-range number, "2026-13-01" or an empty
  ``--as-of`` is a usage error, not "now".
- **--dry-run** on every command that writes (``Command.writes``). A command whose service can
  count without writing passes the flag on; the others run inside a transaction that is rolled
  back (``Command.rollback_dry_run``), so nothing is kept and nothing is sent after commit.
- **Progress**: a bar (rich) on stderr when it is a terminal, nothing otherwise (cron logs stay
  small); then one **summary line** on stdout, marked "[dry run]" when nothing was written.
- **English** output whatever language is active: the CLI speaks to operators and their logs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone, translation

from pointsmall.kernel import clock
from pointsmall.kernel.errors import DomainError

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


def usage_error(message: str) -> CommandError:
    """A CommandError for a bad argument: one line on stderr and exit code 2."""
    return CommandError(message, returncode=EXIT_USAGE)


# --- Argument types (argparse ``type=``): raise ArgumentTypeError, which argparse turns into a usage error.


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An integer from ``low`` to ``high`` inclusive."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, not {value}")
        return value

    parse.__name__ = f"integer {low}..{high}"
    return parse


def strict_date(text: str) -> date:
    """A calendar day, YYYY-MM-DD (no empty string, no month 13, no 20261130)."""
    cleaned = text.strip()
    try:
        if len(cleaned) != 10:
            raise ValueError
        return date.fromisoformat(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day as YYYY-MM-DD: {text!r} (e.g. 2026-11-30)") from None


def strict_datetime(text: str) -> datetime:
    """An ISO date-time or day (a day means its start), aware in the mall's time zone if naive."""
    cleaned = text.strip()
    if not cleaned:
        raise argparse.ArgumentTypeError("is empty; leave the option out to mean now")
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date-time: {text!r} (e.g. 2026-11-23 or 2026-11-23T00:00:00+08:00)"
        ) from None
    return timezone.make_aware(moment, clock.business_zone()) if timezone.is_naive(moment) else moment


def strict_month(text: str) -> date:
    """A month, YYYY-MM, as its first day."""
    try:
        year, month = text.strip().split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month as YYYY-MM: {text!r} (e.g. 2026-10)") from None


def parse_option(parse: Callable[[str], Any], option: str, text: str) -> Any:
    """Apply an argument type to a value that bypassed argparse (``call_command(option=…)``)."""
    try:
        return parse(text)
    except argparse.ArgumentTypeError as error:
        raise usage_error(f"{option}: {error}") from None


class _OneLineParser(CommandParser):
    """Argparse errors as one line (``manage.py cmd: error: …``) and exit 2, not usage plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if not self.called_from_command_line:
            raise usage_error(f"Error: {message}")
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


class Progress:
    """What a job reports as it goes: ``advance(n)`` or ``update(done, total)``. Quiet off a terminal."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._bar, self._task = bar, task

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, steps)

    def update(self, done: int, total: int | None = None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)


class Command(BaseCommand):
    """Base of every project command. Subclasses implement ``run(**options)`` instead of ``handle``.

    ``writes``: the command changes data, so it gets ``--dry-run``. ``rollback_dry_run``: its
    service has no dry-run of its own, so a dry run executes it inside a transaction that is
    rolled back. ``run`` returns the exit code (``EXIT_OK`` or ``EXIT_REJECTED``); a
    ``DomainError`` that reaches the command (a service refusing the operator's arguments: a
    future --as-of, a month not over) is a usage error.
    """

    writes = False
    rollback_dry_run = False
    exit_code = EXIT_OK
    dry_run = False
    _from_argv = False
    _last_summary = ""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("allow_abbrev", False)  # --force is not --force-color: a typo is an error
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _OneLineParser
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        if self.writes:
            parser.add_argument(
                "--dry-run", action="store_true", help="Show what would be done; write and send nothing."
            )
        self.add_options(parser)

    def add_options(self, parser: CommandParser) -> None:
        """The command's own arguments."""

    # ``run(**options) -> int``, each command with its own keyword arguments: declared as an
    # attribute so a subclass may name the options it takes (a method here would forbid that).
    run: Callable[..., int]

    def handle(self, *args: Any, **options: Any) -> None:
        self.dry_run = bool(options.get("dry_run"))
        self._verbosity = int(options.get("verbosity", 1))
        with translation.override("en"):
            try:
                if self.dry_run and self.rollback_dry_run:
                    with transaction.atomic():
                        self.exit_code = self.run(**options)
                        transaction.set_rollback(True)
                else:
                    self.exit_code = self.run(**options)
            except DomainError as error:
                raise usage_error(str(error.message)) from None

    def execute(self, *args: Any, **options: Any) -> Any:
        """Run; ``call_command`` raises CommandError(returncode=1) with the summary when rows were
        rejected or violations found (the CLI exits 1 instead: ``run_from_argv``)."""
        self.exit_code, self._last_summary = EXIT_OK, ""
        output = super().execute(*args, **options)
        if self.exit_code and not self._from_argv:
            raise CommandError(self._last_summary, returncode=self.exit_code)
        return output

    def run_from_argv(self, argv: list[str]) -> None:
        """The CLI: exit 1 when rows were rejected or violations found, after the summary line."""
        self._from_argv = True
        super().run_from_argv(argv)
        if self.exit_code:
            sys.exit(self.exit_code)

    # --- Output ---------------------------------------------------------------------------------

    def line(self, text: str) -> None:
        """A detail line (shown at --verbosity 1 and above)."""
        if self.verbosity >= 1:
            self.stdout.write(text)

    def summary(self, text: str, *, ok: bool = True) -> None:
        """The last line: what was done (or would have been), always printed."""
        prefix = "[dry run] " if self.dry_run else ""
        self._last_summary = f"{prefix}{text}"
        style = self.style.SUCCESS if ok else self.style.ERROR
        self.stdout.write(style(f"{prefix}{text}"))

    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Progress]:
        """A progress bar on stderr while the block runs, if stderr is a terminal."""
        stream = getattr(self.stderr, "_out", None)
        if stream is None or not getattr(stream, "isatty", lambda: False)() or self.verbosity < 1:
            yield Progress()
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Bar(*columns, TimeElapsedColumn(), console=Console(file=stream), transient=True) as bar:
            yield Progress(bar, bar.add_task(description, total=total))

    @property
    def verbosity(self) -> int:
        return getattr(self, "_verbosity", 1)


class OutboxRetryCommand(Command):
    """``<app>_…_retry``: send an outbox's rows that are due; with ``--failed-since``, first queue
    again the rows that failed for good (after an outage). One shape for every outbox (notification
    deliveries, webhooks). Subclasses name the rows (``noun``) and implement the four hooks."""

    writes = True
    noun = "deliveries"

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=bounded_int(1, 10000), default=500, help=f"At most this many {self.noun} (1–10000)."
        )
        parser.add_argument(
            "--failed-since",
            metavar="YYYY-MM-DD",
            type=strict_date,
            help=f"Queue again every failed one of the {self.noun} created on or after this day (the mall's time "
            "zone, not in the future), with a fresh attempt budget, then send what is due. What was delivered is "
            "never sent again.",
        )

    def count_failed(self, since: datetime) -> int:
        raise NotImplementedError

    def count_due(self) -> int:
        raise NotImplementedError

    def resend(self, since: datetime) -> int:
        raise NotImplementedError

    def send_due(self, limit: int) -> dict[str, int]:
        raise NotImplementedError

    def _retry(self, *, limit: int, failed_since: date | str | None, **options: Any) -> int:
        day: date | None = (
            # call_command(failed_since="…") skips the argument's type
            parse_option(strict_date, "--failed-since", failed_since) if isinstance(failed_since, str) else failed_since
        )
        since = None
        if day is not None:
            if day > clock.business_date():
                raise usage_error(f"--failed-since {day.isoformat()} is in the future.")
            since = timezone.make_aware(datetime.combine(day, time.min), clock.business_zone())
        if self.dry_run:
            # Counted, not sent: a rolled-back transaction cannot take back a message that left.
            failed = self.count_failed(since) if since else 0
            self.summary(
                f"Would queue again {failed} failed {self.noun} and send {min(self.count_due() + failed, limit)} due."
            )
            return EXIT_OK
        if since is not None and day is not None:
            queued = self.resend(since)
            self.line(f"Queued again: {queued} failed {self.noun} since {day.isoformat()}.")
        with self.progress(f"Sending {self.noun}"):
            report = self.send_due(limit)
        summary = ", ".join(f"{count} {status}" for status, count in sorted(report.items())) or "nothing due"
        self.summary(f"{self.noun.capitalize()}: {summary}.")
        return EXIT_OK

    run = _retry
