"""The benchmark's code path at N = 20, so it cannot rot (not timed: numbers are only reported)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.run import run, table


def test_benchmark_runs_at_small_scale(tmp_path: Path) -> None:
    result = run(20, 1, tmp_path, history_commits=3, preview=False)
    assert result["deals"] == 20
    # The export's build by ProperDocs and Zensical is measured where they are installed (`make bench` installs both).
    engines = {"export_mkdocs", *({"export_properdocs", "export_zensical"} & set(result["median_seconds"]))}
    assert set(result["median_seconds"]) == {"peer", "baseline", "cold", "warm", "cold_off", "warm_off", "one_deal",
                                             "cold_1", "warm_1", "one_deal_1", "check", "check_cold", "export",
                                             *engines}
    assert all(seconds > 0 for seconds in result["median_seconds"].values())
    assert all(mib > 0 for mib in result["peak_memory_mib"].values())
    saved = json.loads((tmp_path / "latest-20.json").read_text())
    assert saved["ratio_to_baseline"] == result["ratio_to_baseline"]
    assert "| cold `dealbook build`, English only |" in table(result) and "plain peer" in table(result)
    assert "| cold `dealbook build`, English and Chinese (as shipped) |" in table(result)
    assert set(result["ratio_to_peer"]) == {"baseline", "cold", "warm", "one_deal", "cold_1", "warm_1", "one_deal_1",
                                            "export", *engines}
    assert "| `dealbook export`, English" in table(result) and "| the export built by mkdocs 1." in table(result)
    assert set(result["export_site_bytes"]) == engines
    assert all(w["deal_page_median"] > 0 and w["html"] < w["total"] for w in result["export_site_bytes"].values())
    assert set(result["ratio_to_one_language"]) == {"cold", "warm", "one_deal"}
    assert result["history_seconds"] > 0 and "reading git history (3 commits per deal" in table(result)
    assert set(result["history_pages_extra"]) == {"cold", "warm"}
    assert result["history_pages_parts"]["events"] > 0 and "history pages: cold build" in table(result)
    # The forecast calls and the pace, measured in-process (the quarter-start snapshot needs a history back to the
    # quarter's first day, which 3 commits ten days apart do not reach).
    assert result["forecast_parts"]["calls"] > 0 and result["forecast_parts"]["call_lines"] > 20
    assert "| forecast calls and pace, in-process" in table(result) and "quarter-start snapshot" not in table(result)
