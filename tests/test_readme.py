"""The README's model table is generated from the registry and must stay in sync."""

import re
from pathlib import Path

from opbench.catalog import models_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_model_table_matches_the_registry():
    text = README.read_text()
    match = re.search(r"<!-- models:begin -->\n(.*?)<!-- models:end -->", text, re.S)
    assert match, "README.md lacks the <!-- models:begin/end --> markers"
    assert match.group(1) == models_markdown(), (
        "README model table is stale: replace it with `opbench list models --markdown`"
    )
