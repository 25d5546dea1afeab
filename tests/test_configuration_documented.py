"""Every setting the code reads from the environment is in the README's configuration table.

The names are collected from the code itself (``env.<type>("NAME"`` in the settings,
``os.environ.get("NAME"`` elsewhere, ``${NAME:-…}`` in the shell scripts and the Procfile), so a new
variable without a README row fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SOURCES = {
    "pointsmall/settings.py": r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""",
    "gunicorn.conf.py": r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""",
    "pointsmall/seeding.py": r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""",
    "tests/conftest.py": r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""",
    "scripts/restore-drill": r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""",
    "scripts/run": r"\$\{([A-Z][A-Z0-9_]+):-",
    "scripts/test": r"\$\{([A-Z][A-Z0-9_]+):-",
    "scripts/screenshots": r"\$\{([A-Z][A-Z0-9_]+):-",
    ".ci/run": r"\$\{([A-Z][A-Z0-9_]+):-",
    "Procfile": r"\$\{([A-Z][A-Z0-9_]+):-",
}


def configuration_table() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Configure")
    return readme[start : readme.index("\n## ", start + 1)]


def variables_read() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path, pattern in SOURCES.items():
        source = ROOT / path
        if source.exists():
            for name in re.findall(pattern, source.read_text()):
                found.setdefault(name, set()).add(path)
    return found


def test_the_collector_finds_the_settings_it_should():
    found = variables_read()
    assert {
        "DATABASE_URL",
        "CATALOG_PAYMENT_CALLBACK_BASE",
        "GUNICORN_BIND",
        "DEMO_ADMIN_EMAIL",
        "PYTHON",
        "CELERY_CONCURRENCY",
    } <= set(found)
    assert len(found) >= 40


def test_every_environment_variable_the_code_reads_is_documented():
    table = configuration_table()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    missing = {name: sorted(paths) for name, paths in variables_read().items() if name not in documented}
    assert missing == {}, f"add these to the README's configuration table: {missing}"
