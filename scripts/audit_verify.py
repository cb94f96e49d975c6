"""`paystream audit verify|checkpoint`: tamper evidence (hash chains)."""

from __future__ import annotations
