"""The docs' table of problem types is the catalog (api/problem_types.py), not a hand list."""

from __future__ import annotations

from api.problem_catalog import DOCS, catalog, with_table


def test_the_docs_table_of_problem_types_is_current() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert with_table(text) == text, "run: python -m api.problem_catalog"


def test_every_problem_type_of_the_catalog_is_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [p.code for p in catalog() if f"| `/problems/{p.code}` | {p.status} |" not in text]
    assert not missing, missing
