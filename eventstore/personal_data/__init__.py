"""Personal data: each person's fields sealed under a data key of their own, each data key
wrapped by a key-encryption key (KEK) from configuration; destroying a data key erases
that person's data everywhere it was copied (docs/architecture.md, "Personal data: the
key hierarchy")."""
