"""Dates, numbers, percents and amounts as a language writes them: Babel (CLDR) for the language's locale.

Which of Babel's patterns a language uses may be named in its catalog: `date_pattern` (a date),
`month_pattern` (a month), `day_pattern` (a day without its year, under a chart's columns),
`number_pattern` and `percent_pattern`. Each is a CLDR pattern (`yyyy-MM-dd`, `y年M月d日`,
`#,##0.###`) or, for the dates, one of the locale's widths (`short`, `medium`, `long`, `full`).
A key the catalog does not name is the locale's own: a new language is written the way its readers
expect without a line of code (`de`: 27.11.2026, 1.234,50, 25 %, 1,2 Mio.).

Amounts keep one rule in every language: whole amounts without decimals, others with two.
A `Formats` is made once per `Labels` (once per language and build) and keeps its locale, its parsed
patterns and what it wrote, so a number costs one pattern application at most, never a pattern parse.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import date

from babel import Locale, UnknownLocaleError
from babel.dates import DateTimePattern, match_skeleton
from babel.dates import parse_pattern as parse_date_pattern
from babel.numbers import NumberPattern, format_compact_decimal, get_decimal_symbol
from babel.numbers import parse_pattern as parse_number_pattern

NONE = "–"  # a number that is not there (no quota, no rate yet), in every language
# The catalog keys that name patterns: settings, not words to translate. A new language's catalog is better
# without them (copied from English they would keep its ISO dates): it then writes as its locale does.
PATTERN_KEYS = ("date_pattern", "month_pattern", "day_pattern", "number_pattern", "percent_pattern")
_WIDTHS = ("short", "medium", "long", "full")
# What a date pattern the catalog does not name falls back to: the locale's medium date (27.11.2026,
# Nov 27, 2026), its year and abbreviated month (Nov 2026, 2026年11月), its two-digit month and day.
_DEFAULT_DATE, _MONTH_SKELETON, _DAY_SKELETON = "medium", "yMMM", "MMdd"
_DIGIT = re.compile(r"\d")


def locale_of(tag: str, fallback: str) -> Locale:
    """Babel's locale for a language tag (`zh`, `pt-BR`); its primary language's, else `fallback`'s, when
    Babel has no data for it (a language a team invents still builds)."""
    for candidate in (tag, tag.replace("_", "-").split("-")[0], fallback):
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return Locale.parse(fallback)


def _named(value: object) -> str:
    """A pattern a catalog names; '' for none (a key left out, or left empty: the locale's own then)."""
    return value.strip() if isinstance(value, str) else ""


class Formats:
    """The formats of one language: `date`, `month`, `day`, `number`, `percent`, `compact`."""

    def __init__(self, tag: str, catalog: Mapping[str, object], fallback: str = "en"):
        self.locale = locale_of(tag, fallback)
        date_key, month_key, day_key, number_key, percent_key = PATTERN_KEYS
        self._date = self._date_pattern(catalog.get(date_key), _DEFAULT_DATE)
        self._month = self._date_pattern(catalog.get(month_key), _MONTH_SKELETON)
        self._day = self._date_pattern(catalog.get(day_key), _DAY_SKELETON)
        number, percent = _named(catalog.get(number_key)), _named(catalog.get(percent_key))
        self._number = parse_number_pattern(number) if number else self.locale.decimal_formats[None]
        self._percent = parse_number_pattern(percent) if percent else self.locale.percent_formats[None]
        self._decimal_sign = get_decimal_symbol(self.locale)
        self._places: dict[int, NumberPattern] = {}
        # What it wrote, by what it was asked: a build writes the same dates (the as-of date on every page) and
        # amounts (a deal's on its page, its rows and its card) many times over.
        self._dates: dict[tuple[str, date], str] = {}  # (pattern, date) → text
        self._numbers: dict[tuple[float, int], str] = {}  # (value, places) → text
        self._percents: dict[float, str] = {}

    def __repr__(self) -> str:
        return f"Formats({self.locale})"

    def _date_pattern(self, named: object, default: str) -> DateTimePattern:
        """A catalog's date pattern: a width of the locale, a CLDR pattern; else `default` (a width or a skeleton)."""
        named = _named(named)
        if not named:
            if default in _WIDTHS:
                return self.locale.date_formats[default]
            skeletons = self.locale.datetime_skeletons
            return skeletons[match_skeleton(default, skeletons) or default]
        if named in _WIDTHS:
            return self.locale.date_formats[named]
        return parse_date_pattern(named)

    def _apply(self, pattern: DateTimePattern, value: date) -> str:
        key = (pattern.pattern, value)
        text = self._dates.get(key)
        if text is None:
            text = self._dates[key] = pattern.apply(value, self.locale)
        return text

    def date(self, value: date | None) -> str:
        """A date (2026-11-27, 2026年11月27日, 27.11.2026); '' for none."""
        return "" if value is None else self._apply(self._date, value)

    def month(self, value: date) -> str:
        """A month (2026-11, 2026年11月, Nov. 2026)."""
        return self._apply(self._month, value)

    def day(self, value: date) -> str:
        """A day of a year the reader sees elsewhere (11-27; under the columns of a chart)."""
        return self._apply(self._day, value)

    def _with_places(self, places: int) -> NumberPattern:
        """The language's number pattern (its grouping, its symbols) with exactly `places` decimals."""
        pattern = self._places.get(places)
        if pattern is None:
            pattern = self._places[places] = copy.copy(self._number)
            pattern.frac_prec = (places, places)
        return pattern

    def number(self, value: float | None, places: int = 2) -> str:
        """An amount with the language's grouping: 1,234,567 and 1,234.50 (1.234,50 in German); '–' for none."""
        if value is None:
            return NONE
        text = self._numbers.get((value, places))
        if text is None:
            shown = 0 if places == 2 and float(value).is_integer() else places
            text = self._numbers[(value, places)] = self._with_places(shown).apply(value, self.locale)
        return text

    def percent(self, value: float | None) -> str:
        """A share as a whole percent: 25% (25 % in German); '–' for none."""
        if value is None:
            return NONE
        text = self._percents.get(value)
        if text is None:
            text = self._percents[value] = self._percent.apply(value, self.locale)
        return text

    def compact(self, value: float) -> str:
        """An amount in the locale's short form, to three significant digits: 1.25M, 400K, 5000万, 2.5亿."""
        text = format_compact_decimal(value, locale=self.locale, fraction_digits=2)
        if not any(character.isalpha() for character in text):
            # Below the locale's first unit (K, 万, Mio.), where Babel writes the plain number: a whole one.
            return self._with_places(0).apply(value, self.locale, group_separator=False)
        # As many decimals as the digits before the decimal sign leave of three (9.52万, 37.5M, 1235万),
        # counted after rounding: 9.996M is 10M.
        places = max(0, 3 - len(_DIGIT.findall(text.split(self._decimal_sign)[0])))
        return text if places == 2 else format_compact_decimal(value, locale=self.locale, fraction_digits=places)

