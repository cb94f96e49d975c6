"""`paystream bench suite` writes in process (backlogs, long histories): its personal
fields are sealed under the running stack's key-encryption key, found as `paystream up`
finds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.cli.bench import use_stack_kek


def test_the_suite_seals_under_the_stacks_key_in_its_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYSTREAM_KEK_DIR", raising=False)

    use_stack_kek(tmp_path / "stack")

    assert os.environ["PAYSTREAM_KEK_DIR"] == str(tmp_path / "stack" / "keys")


def test_a_key_directory_set_for_the_stack_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYSTREAM_KEK_DIR", str(tmp_path / "elsewhere"))

    use_stack_kek(tmp_path / "stack")

    assert os.environ["PAYSTREAM_KEK_DIR"] == str(tmp_path / "elsewhere")
