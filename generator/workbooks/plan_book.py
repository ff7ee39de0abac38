"""The buyer's plan workbook: the mutual action plan of one shared deal, one sheet, nothing else of ours.

Made for the customer build only (`share_build`): the deal has already been through the customer audience's
`keeps:` (everything but the title, the account, the plan and the next steps emptied), and this sheet reads
only the plan, the stage model's customer steps and the title. Rep text is written as text (`Sheet.text`:
a milestone starting with "=" is a string with the quote prefix, never a formula).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .book import Workbook
from .cells import BOLD, GRID, LEFT_WRAP, TITLE_FONT, Sheet

if TYPE_CHECKING:
    from ..labels import Labels
    from ..sources.deal_files import Deal
    from ..sources.stage_model import StageModel


def plan_workbook(deal: Deal, model: StageModel, labels: Labels, as_of: date) -> bytes:
    """The .xlsx of the deal's plan, by due date: due, milestone, side, owner, the buyer's step, done."""
    wb = Workbook(as_of, title=labels("share_title", title=deal.title))
    sheet = Sheet(wb.add_sheet(labels.plan[:31]), [13, 48, 12, 22, 48, 9])
    sheet.text(1, 1, labels("share_title", title=deal.title), font=TITLE_FONT, overflow=True)
    sheet.text(2, 1, deal.account, overflow=True)
    sheet.header(4, [labels.due, labels.plan_milestone, labels.plan_side, labels.owner, labels.share_steps,
                     labels.done])
    steps = {s.number: s for s in model.stages}
    for row, m in enumerate(sorted(deal.plan, key=lambda m: m.due), start=5):
        step = steps.get(m.stage) if m.stage else None
        sheet.value(row, 1, m.due, border=GRID, align=LEFT_WRAP)
        sheet.text(row, 2, m.milestone, border=GRID, align=LEFT_WRAP)
        sheet.text(row, 3, labels.share_sides.get(m.side, m.side), border=GRID, align=LEFT_WRAP)
        sheet.text(row, 4, m.owner, border=GRID, align=LEFT_WRAP)
        shown = "" if step is None else \
            f"{labels('share_step', n=step.number)}{labels.colon}{labels.pick(step, 'customer_step')}"
        sheet.text(row, 5, shown, border=GRID, align=LEFT_WRAP)
        sheet.text(row, 6, "✔" if m.done else labels.plan_open, border=GRID, align=LEFT_WRAP,
                   font=BOLD if m.done else None)
    sheet.finish(freeze="A5", title_rows="4:4")
    return wb.to_bytes()
