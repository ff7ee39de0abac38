"""The navigation comes from the stage model: stages added or renamed there need no other edit."""

from __future__ import annotations

import re

import yaml
from conftest import Project

from generator.sources.stage_model import load_stage_model


def _nav_links(project: Project) -> list[str]:
    home = project.page("")
    return re.findall(r'<a href="([^"]+)" class="md-nav__link', home)


def _edit_model(project: Project, change) -> None:
    data = yaml.safe_load(project.model.read_text(encoding="utf-8"))
    change(data)
    project.model.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_stage_model(project.model)  # the edited copy is a valid model


def test_mkdocs_yml_names_no_stage_page(project: Project) -> None:
    assert "stages/" not in (project.root / "mkdocs.yml").read_text(encoding="utf-8")
    project.build()
    model = load_stage_model(project.model)
    links = _nav_links(project)
    paths = project.paths
    stage_links = [link for link in links if link.startswith("stages/")]
    assert stage_links == [paths.url(paths.stage_page(s)) for s in model.stages]
    assert [link for link in links if link.startswith("tools/")] == \
        [paths.url(paths.tool_page(t)) for t in ("evaluation", "grading", "stakeholders", "negotiation")]


def test_a_ninth_stage_gets_its_page_and_a_place_in_the_nav(project: Project) -> None:
    def add_stage(data: dict) -> None:
        ninth = dict(data["stages"][-1], number=9, key="handover", name="Handover to delivery", probability=0.99)
        data["stages"].append(ninth)

    _edit_model(project, add_stage)
    project.build(strict=True)
    ninth, eighth = "stages/9-handover.md", "stages/8-signing.md"
    assert project.paths.url(ninth) in _nav_links(project)
    page = project.page("stages/9-handover")
    assert "Handover to delivery" in page and "99%" in page
    assert f'href="{project.paths.link(eighth, ninth)}"' in project.page("stages/8-signing")  # "next stage"


def test_a_renamed_stage_key_renames_its_page_and_links(project: Project) -> None:
    def rename(data: dict) -> None:
        data["stages"][-1]["key"] = "contract-signing"

    # The stage's Chinese texts are named by its key too (a key they do not find is an error at its line).
    texts = project.model.with_name("playbook.zh.yml")
    texts.write_text(texts.read_text(encoding="utf-8").replace("- key: signing\n", "- key: contract-signing\n"),
                     encoding="utf-8")
    _edit_model(project, rename)
    project.build(strict=True)
    renamed, paths = "stages/8-contract-signing.md", project.paths
    assert paths.url(renamed) in _nav_links(project)
    assert not list((project.site / "stages").glob("8-signing*"))
    assert f'href="{paths.link("stages/7-negotiation.md", renamed)}"' in project.page("stages/7-negotiation")
    assert paths.link("process.md", renamed) in project.page("process")
