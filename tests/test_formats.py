"""Dates, numbers, percents and amounts are Babel's for the page's locale, with the patterns a catalog names."""

from __future__ import annotations

from datetime import date

import pytest

from generator.formats import Formats
from generator.labels import Labels
from generator.site.history_pages import compact

DAY = date(2026, 11, 7)
NBSP = "\u00a0"


@pytest.mark.parametrize(("language", "expected"), [
    # English and Chinese as the sites have always written them (the catalogs name these patterns).
    ("en", ("2026-11-07", "2026-11", "11-07", "1,234,567", "1,234.50", "25%", "1.2M", "350K")),
    ("zh", ("2026年11月7日", "2026年11月", "11-07", "1,234,567", "1,234.50", "25%", "120万", "35万")),
])
def test_english_and_chinese_write_as_their_catalogs_and_locales_say(language: str, expected: tuple) -> None:
    f = Labels(language).formats
    assert (f.date(DAY), f.month(DAY), f.day(DAY), f.number(1234567.0), f.number(1234.5), f.percent(0.25),
            f.compact(1.2e6), f.compact(350_000)) == expected


def test_a_language_without_patterns_in_its_catalog_writes_as_its_locale_does() -> None:
    # German has no catalog here and names nothing: every format is the locale's own.
    f = Formats("de", {})
    assert (f.date(DAY), f.month(DAY), f.day(DAY)) == ("07.11.2026", "Nov. 2026", "07.11.")
    assert (f.number(1234567.0), f.number(1234.5), f.number(-5)) == ("1.234.567", "1.234,50", "-5")
    assert f.percent(0.25) == f"25{NBSP}%"
    assert f.compact(1.2e6) == f"1,2{NBSP}Mio."
    assert f.compact(1.2e8) == f"120{NBSP}Mio."


def test_chinese_amounts_are_compacted_in_wan_and_yi() -> None:
    zh = Labels("zh").formats
    assert [zh.compact(v) for v in (1.2e8, 2.5e8, 5e7, 1.25e7, 95_243, 0)] == [
        "1.2亿", "2.5亿", "5000万", "1250万", "9.52万", "0"]
    assert compact(1.2e8, Labels("zh")) == "1.2亿"  # the history charts' axis labels are these


def test_compact_amounts_keep_three_significant_digits_and_no_exponent() -> None:
    en = Labels("en").formats
    assert [en.compact(v) for v in (2.25e6, 12_345_678, 9.996e6, 999.6, 5e7, -1.5e6)] == [
        "2.25M", "12.3M", "10M", "1000", "50M", "-1.5M"]


def test_a_pattern_left_empty_is_the_locales_own() -> None:
    # What `dealbook language add` writes: every pattern key empty, for the new language's locale to fill in.
    f = Formats("de", dict.fromkeys(("date_pattern", "month_pattern", "day_pattern", "number_pattern",
                                     "percent_pattern"), ""))
    assert (f.date(DAY), f.number(1234.5), f.percent(0.25)) == ("07.11.2026", "1.234,50", f"25{NBSP}%")


def test_a_catalog_names_the_patterns_it_wants() -> None:
    f = Formats("en", {"date_pattern": "medium", "month_pattern": "MMMM y", "percent_pattern": "0.0%",
                       "number_pattern": "#,##0.###"})
    assert (f.date(DAY), f.month(DAY), f.percent(0.125)) == ("Nov 7, 2026", "November 2026", "12.5%")
    assert f.number(1234.5) == "1,234.50"  # amounts keep two places, or none when whole, whatever the pattern


def test_nothing_is_a_dash_and_no_date_is_empty() -> None:
    for f in (Labels("en").formats, Labels("zh").formats, Formats("de", {})):
        assert (f.number(None), f.percent(None), f.date(None)) == ("–", "–", "")


def test_a_tag_babel_does_not_know_falls_back_to_its_language_then_the_default() -> None:
    assert str(Formats("pt-XX", {}).locale) == "pt"
    assert str(Formats("qqq", {}, fallback="en").locale) == "en"
    assert Formats("qqq", {}).number(1234.5) == "1,234.50"


def test_labels_make_their_formats_once() -> None:
    labels = Labels("zh")
    assert labels.formats is labels.formats
    assert labels.format_date(DAY) == labels.formats.date(DAY) == "2026年11月7日"
    assert labels.format_month(DAY) == "2026年11月"
