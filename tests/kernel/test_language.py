"""Which language the reader gets: English for any en-*, Chinese for everything else."""

from __future__ import annotations

import pytest
from django.utils import translation

from pointsmall.kernel.language import is_site_language, pick_language, reader_is_english


@pytest.mark.parametrize(("language", "english"), [("en", True), ("en-gb", True), ("zh-hans", False), ("de", False)])
def test_any_english_reads_english(language, english):
    with translation.override(language):
        assert reader_is_english() is english
        assert pick_language(zh="雨伞", en="Umbrella") == ("Umbrella" if english else "雨伞")


def test_no_active_language_reads_chinese():
    with translation.override(None):
        assert reader_is_english() is False
        assert pick_language(zh="雨伞", en="Umbrella") == "雨伞"


def test_an_empty_choice_stays_empty_unless_asked_to_fall_back():
    with translation.override("en"):
        assert pick_language(zh="雨伞", en="") == ""
        assert pick_language(zh="雨伞", en="", fallback=True) == "雨伞"
        assert pick_language(zh="", en=None, fallback=True) == ""
    with translation.override("zh-hans"):
        assert pick_language(zh=None, en="Umbrella", fallback=True) == "Umbrella"
        assert pick_language(zh="雨伞", en="Umbrella", fallback=True) == "雨伞"


@pytest.mark.parametrize(
    ("code", "known"), [("zh-hans", True), ("en", True), ("fr", False), ("", False), (None, False)]
)
def test_a_profile_language_must_be_one_of_the_malls(code, known):
    assert is_site_language(code) is known
