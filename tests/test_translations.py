"""The Simplified Chinese catalogue is complete, compiled and in step with the source strings.

After strings change, update it from the repository root:

    .venv/bin/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=static/vendor \\
        --ignore=bench --ignore=tests --no-obsolete
    # In locale/zh_Hans/LC_MESSAGES/django.po translate every entry whose msgstr is empty; check
    # every "#, fuzzy" entry (msgmerge's guess from a similar old string), fix it, and delete the
    # fuzzy flag and its "#| msgid" lines.
    .venv/bin/python manage.py compilemessages --ignore=.venv
    .venv/bin/pytest tests/test_translations.py

The catalogue is read with a small parser of our own so the check needs nothing beyond the
standard library; only the extraction test needs GNU gettext (xgettext), as makemessages does.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.utils import is_ignored_path
from django.test import override_settings

from tests.conftest import IN_CI

BASE_DIR = Path(settings.BASE_DIR)
LOCALE = "zh_Hans"
PO_PATH = BASE_DIR / "locale" / LOCALE / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
# The same ignores as the makemessages command in the docstring; makemessages adds its defaults.
MAKEMESSAGES_IGNORE = [".venv", "static/vendor", "bench", "tests"]
MAKEMESSAGES_DEFAULT_IGNORE = ["CVS", ".*", "*~", "*.pyc"]
SOURCE_EXTENSIONS = {".py", ".html", ".txt"}

PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs%]")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@dataclass(frozen=True)
class PoEntry:
    line: int
    context: str | None
    msgid: str
    msgid_plural: str | None
    msgstrs: tuple[str, ...]
    flags: frozenset[str]

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.context, self.msgid)

    def __str__(self) -> str:
        where = f"line {self.line}"
        return f"{where}: {self.msgid!r}" if self.context is None else f"{where}: [{self.context}] {self.msgid!r}"


def parse_po(text: str) -> list[PoEntry]:
    """Every entry of a .po file, the header included; obsolete (#~) entries are left out."""
    entries: list[PoEntry] = []
    fields: dict[str, str] = {}
    flags: set[str] = set()
    current: str | None = None
    start = 0

    def flush() -> None:
        nonlocal fields, flags, current
        if "msgid" in fields:
            plurals = sorted((int(k[7:-1]), v) for k, v in fields.items() if k.startswith("msgstr["))
            entries.append(
                PoEntry(
                    line=start,
                    context=fields.get("msgctxt"),
                    msgid=fields["msgid"],
                    msgid_plural=fields.get("msgid_plural"),
                    msgstrs=tuple(v for _, v in plurals) if plurals else (fields.get("msgstr", ""),),
                    flags=frozenset(flags),
                )
            )
        fields, flags, current = {}, set(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                flush()
            continue
        if line.startswith("#"):
            if "msgid" in fields:
                flush()
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith('"'):
            fields[current] += ast.literal_eval(line)
            continue
        keyword, _, value = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and "msgid" in fields:
            flush()
        if not fields:
            start = number
        current = keyword
        fields[keyword] = ast.literal_eval(value)
    flush()
    return entries


def _catalogue() -> tuple[PoEntry, list[PoEntry]]:
    header, *entries = parse_po(PO_PATH.read_text(encoding="utf-8"))
    assert header.msgid == "", f"{PO_PATH} must start with its header entry"
    return header, entries


def _listing(entries) -> str:
    return "\n".join(f"  {entry}" for entry in entries)


def test_catalogue_header_declares_chinese_with_a_single_plural_form():
    header, _ = _catalogue()
    fields = dict(line.split(": ", 1) for line in header.msgstrs[0].splitlines() if ": " in line)

    assert "fuzzy" not in header.flags
    assert fields["Language"] == LOCALE
    assert fields["Plural-Forms"] == "nplurals=1; plural=0;"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"


def test_every_entry_is_translated_and_none_is_fuzzy():
    _, entries = _catalogue()
    untranslated = [e for e in entries if not all(s.strip() for s in e.msgstrs)]
    fuzzy = [e for e in entries if "fuzzy" in e.flags]
    wrong_plural_count = [e for e in entries if e.msgid_plural is not None and len(e.msgstrs) != 1]

    assert entries
    assert not untranslated, f"Untranslated entries in {PO_PATH}:\n{_listing(untranslated)}"
    assert not fuzzy, f"Fuzzy entries in {PO_PATH} (check, then remove the flag):\n{_listing(fuzzy)}"
    assert not wrong_plural_count, f"Chinese has one plural form: give msgstr[0] only:\n{_listing(wrong_plural_count)}"


def test_translations_keep_every_placeholder_and_html_tag():
    _, entries = _catalogue()
    broken = []
    for entry in entries:
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        # With one plural form the Chinese text stands for every count, so it carries the union.
        wanted_placeholders = sorted({p for s in sources for p in PLACEHOLDER.findall(s)})
        wanted_tags = sorted(HTML_TAG.findall(sources[-1]))
        for msgstr in entry.msgstrs:
            placeholders = sorted(set(PLACEHOLDER.findall(msgstr)))
            if "python-format" in entry.flags and placeholders != wanted_placeholders:
                broken.append(f"{entry}: placeholders {placeholders}, expected {wanted_placeholders}")
            if sorted(HTML_TAG.findall(msgstr)) != wanted_tags:
                broken.append(f"{entry}: tags {sorted(HTML_TAG.findall(msgstr))}, expected {wanted_tags}")

    assert not broken, "Translations that lost or changed a placeholder or tag:\n  " + "\n  ".join(broken)


def test_compiled_catalogue_matches_the_po():
    _, entries = _catalogue()
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run manage.py compilemessages --ignore=.venv"
    with MO_PATH.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)

    stale = []
    for entry in entries:
        if entry.msgid_plural is None:
            got = [
                compiled.gettext(entry.msgid)
                if entry.context is None
                else compiled.pgettext(entry.context, entry.msgid)
            ]
        else:
            got = [
                compiled.ngettext(entry.msgid, entry.msgid_plural, n)
                if entry.context is None
                else compiled.npgettext(entry.context, entry.msgid, entry.msgid_plural, n)
                for n in (1, 2, 5)
            ]
        if any(text != entry.msgstrs[0] for text in got):
            stale.append(entry)

    assert not stale, f"{MO_PATH} is out of date (run manage.py compilemessages --ignore=.venv):\n{_listing(stale)}"


def _copy_translatable_sources(dest: Path) -> None:
    """Copy the files makemessages would read, pruning what it would skip, so it can run on the copy."""
    patterns = MAKEMESSAGES_IGNORE + MAKEMESSAGES_DEFAULT_IGNORE
    skipped_roots = {Path(p).resolve() for p in (settings.MEDIA_ROOT, settings.STATIC_ROOT) if p}
    skipped_roots.add((BASE_DIR / "locale").resolve())
    for dirpath, dirnames, filenames in os.walk(BASE_DIR):
        here = Path(dirpath)
        relative = here.relative_to(BASE_DIR)
        dirnames[:] = [
            d
            for d in dirnames
            if not is_ignored_path(os.path.normpath(relative / d), patterns)
            and (here / d).resolve() not in skipped_roots
        ]
        for name in filenames:
            if Path(name).suffix in SOURCE_EXTENSIONS and not is_ignored_path(
                os.path.normpath(relative / name), patterns
            ):
                target = dest / relative / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(here / name, target)


@pytest.fixture(scope="module")
def extracted_keys(tmp_path_factory) -> set[tuple[str | None, str]]:
    """The (context, msgid) pairs makemessages extracts from the current sources."""
    if shutil.which("xgettext") is None:
        reason = "needs GNU gettext (xgettext) to run makemessages: apt-get install gettext"
        if IN_CI:
            pytest.fail(f"CI=true but the tool is missing: {reason}")
        pytest.skip(reason)
    copy = tmp_path_factory.mktemp("makemessages")
    _copy_translatable_sources(copy)
    with override_settings(LOCALE_PATHS=[copy / "locale"]), pytest.MonkeyPatch.context() as patch:
        patch.chdir(copy)
        call_command(
            "makemessages", locale=[LOCALE], ignore_patterns=list(MAKEMESSAGES_IGNORE), no_obsolete=True, verbosity=0
        )
    _, *entries = parse_po((copy / "locale" / LOCALE / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8"))
    return {entry.key for entry in entries}


def test_makemessages_would_add_no_new_string(extracted_keys):
    _, entries = _catalogue()
    missing = sorted(extracted_keys - {e.key for e in entries}, key=lambda key: (key[0] or "", key[1]))

    assert len(extracted_keys) > 100
    assert not missing, (
        f"Strings in the code that {PO_PATH} lacks (run makemessages, translate, compilemessages):\n"
        + "\n".join(f"  {msgid!r}" if ctx is None else f"  [{ctx}] {msgid!r}" for ctx, msgid in missing)
    )


def test_catalogue_has_no_string_the_code_no_longer_uses(extracted_keys):
    _, entries = _catalogue()
    obsolete = [e for e in entries if e.key not in extracted_keys]

    assert not obsolete, f"Entries no longer in the code (run makemessages with --no-obsolete):\n{_listing(obsolete)}"


def test_rules_page_is_in_chinese_for_a_chinese_browser(client, db):
    response = client.get("/rules/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert "<h2>积分有效期</h2>" in page
    assert "<h2>如何获得积分</h2>" in page
    assert "Points validity" not in page


def test_rules_page_stays_in_english_for_an_english_browser(client, db):
    response = client.get("/rules/", HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert "<h2>Points validity</h2>" in page
    assert "积分有效期" not in page


def test_chinese_plural_form_is_used_for_every_count():
    from django.utils import translation

    with translation.override("zh-hans"):
        one = translation.ngettext("%(n)s unread message", "%(n)s unread messages", 1) % {"n": 1}
        many = translation.ngettext("%(n)s unread message", "%(n)s unread messages", 7) % {"n": 7}

    assert (one, many) == ("1条未读消息", "7条未读消息")
