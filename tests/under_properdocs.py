"""Run pytest with ProperDocs standing in for mkdocs, in-process as its command line does it.

    .venv/bin/python tests/under_properdocs.py tests/test_site.py -q

The tests build sites in-process with `mkdocs.commands.build.build` (conftest's `Project.build`) and run
`dealbook` in subprocesses; DEALBOOK_ENGINE makes the subprocesses use ProperDocs, and this module
makes the in-process builds use it. Checked on ProperDocs 1.6.7: `properdocs.replacement` answers every
`mkdocs.*` import with the `properdocs.*` module, and its CLI (`properdocs.__main__.State`) makes the
"properdocs" logger, where its `--strict` counts warnings, the parent of "mkdocs", where plugins log;
without that a plugin's warnings would not fail an in-process strict build.
"""

from __future__ import annotations

import logging
import os
import sys

import properdocs.replacement  # noqa: F401 - imported for its effect: mkdocs.* is properdocs.*

logging.getLogger("mkdocs").parent = logging.getLogger("properdocs")

if __name__ == "__main__":  # not in the workbook pool's processes, which import this module again
    import pytest

    os.environ.setdefault("DEALBOOK_ENGINE", "properdocs")
    sys.exit(pytest.main(sys.argv[1:]))
