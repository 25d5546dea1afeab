"""Running a management command as the shell does (``manage.py <name> …``): exit code and output."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.core.management import get_commands, load_command_class


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def cli(monkeypatch, capsys, name: str, *args: str) -> Outcome:
    """Run ``manage.py name args`` through ``run_from_argv``; its exit code (0 when it returns)."""
    # run_from_argv closes every connection when it ends, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    command = load_command_class(get_commands()[name], name)
    code = 0
    capsys.readouterr()
    try:
        command.run_from_argv(["manage.py", name, *args])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def row_counts() -> dict[str, int]:
    """Every table's row count: "nothing was written" means this did not change."""
    return {model._meta.label: model._base_manager.count() for model in apps.get_models() if model._meta.managed}
