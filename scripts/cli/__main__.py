"""`python -m scripts.cli ...`: how the dev stack and the tests start the CLI."""

from scripts.cli.root import main

main()
