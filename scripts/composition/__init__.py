"""The composition root: the one place that builds applications (`applications`) and
services (`services`) from their settings. It imports domains, eventstore, projections,
api and saga; nothing there imports it."""
