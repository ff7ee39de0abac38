"""One catalog of labels, in English and Chinese, with the same keys."""

from __future__ import annotations

import re

from conftest import Project

from generator.labels import catalog


def _flat(labels: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in labels.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value})
    return out


def test_languages_have_the_same_labels() -> None:
    en, zh = _flat(catalog("en")), _flat(catalog("zh"))
    assert set(en) == set(zh)
    for key in en:
        assert isinstance(en[key], str) and isinstance(zh[key], str), key
        assert set(re.findall(r"{(\w+)[:}]", en[key])) == set(re.findall(r"{(\w+)[:}]", zh[key])), key


def test_chinese_site_uses_chinese_labels(project: Project) -> None:
    project.write_deal("a.yml", "title: T\naccount: A\nowner: O\nstage: 2\nstatus: open\namount: 1\n"
                       "expected_close: 2027-01-01\n")
    project.build()  # the shipped mkdocs.yml: English at /, Chinese at /zh/
    deal = project.page("zh/deals/a")
    assert catalog("zh")["next_exit"] in deal and catalog("en")["next_exit"] not in deal
    assert catalog("zh")["pitfalls"] in project.page("zh/stages/1-account-planning")
    english = project.page("deals/a")
    assert catalog("en")["next_exit"] in english and catalog("zh")["next_exit"] not in english
