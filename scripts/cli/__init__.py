"""The `paystream` command line: `root` builds the app from one module per command group."""
