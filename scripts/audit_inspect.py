"""`paystream audit history|state|trace|export`: reading the audit trail."""

from __future__ import annotations
