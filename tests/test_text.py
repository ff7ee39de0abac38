"""Deal text as read and as written out: CJK lines joined without a stray space, Markdown as plain text."""

from __future__ import annotations

import pytest
import yaml

from generator.sources.cjk_text import is_cjk, join_folded_lines, join_soft_breaks
from generator.workbooks.plain_text import plain_text


def _read(source: str) -> dict[str, str]:
    node = yaml.compose(source, Loader=yaml.CSafeLoader)
    join_folded_lines(node, source)
    return {k.value: v.value for k, v in node.value}


def test_cjk_characters() -> None:
    assert all(is_cjk(c) for c in "中文、。，：（）かなカナ")
    assert not any(is_cjk(c) for c in "a1 -한국")


def test_folded_lines_join_without_a_space_between_two_cjk_characters() -> None:
    read = _read(
        "plain: 项目最终拍板人，\n  最看重评级\n"
        "mixed: 现有 HIS 已运行\n  十二年 and\n  more text\n"
        "folded: >\n  无法满足\n  电子病历\n\n  新段落\n"
        'quoted: "采购小组由信息科、\n  医务处组成"\n'
        "korean: 한국어\n  문장\n"
        "typed: 西岭 医院\n"
        "literal: |\n  第一行\n  第二行\n"
        'escaped: "中\\t文\n  继续"\n'
    )
    assert read["plain"] == "项目最终拍板人，最看重评级"
    assert read["mixed"] == "现有 HIS 已运行十二年 and more text"  # a break next to Latin text stays a space
    assert read["folded"] == "无法满足电子病历\n新段落\n"
    assert read["quoted"] == "采购小组由信息科、医务处组成"
    assert read["korean"] == "한국어 문장"  # Korean separates words with spaces
    assert read["typed"] == "西岭 医院"  # a space typed on one line is the rep's
    assert read["literal"] == "第一行\n第二行\n"  # a literal block keeps its lines: they are shown as typed
    assert read["escaped"] == "中\t文 继续"  # escapes: left as YAML read it


@pytest.mark.parametrize(("markdown", "joined"), [
    ("无法满足\n电子病历", "无法满足电子病历"),
    ("信息科、\n  医务处", "信息科、医务处"),
    ("HIS 系统\nruns", "HIS 系统\nruns"),
    ("硬换行  \n下一行", "硬换行  \n下一行"),  # a hard break is kept
    ("# 标题\n正文", "# 标题\n正文"),  # a heading ends at its line
    ("```\n代码\n代码\n```\n", "```\n代码\n代码\n```\n"),
    ("段落一\n\n段落二", "段落一\n\n段落二"),
])
def test_markdown_soft_breaks_between_cjk_characters_are_joined(markdown: str, joined: str) -> None:
    assert join_soft_breaks(markdown) == joined


@pytest.mark.parametrize(("markdown", "text"), [
    ("Signing on **18 December**.", "Signing on 18 December."),
    ("See [the plan](https://example.com/plan) and `code`, *then* __decide__.",
     "See the plan and code, then decide."),
    ("One\nparagraph.\n\nTwo.", "One paragraph.\n\nTwo."),
    ("Steps:\n\n1. call\n2. **visit**\n\n- a\n- b", "Steps:\n\n1. call\n2. visit\n\n• a\n• b"),
    ("![plant photo](images/plant.png)", "plant photo"),
    ("<b>typed HTML</b> & more", "<b>typed HTML</b> & more"),  # raw HTML is text, as on the site
    ("=SUM(A1)", "=SUM(A1)"),
    ("", ""),
])
def test_markdown_becomes_plain_text_for_workbooks(markdown: str, text: str) -> None:
    assert plain_text(markdown) == text
