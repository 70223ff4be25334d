"""The `egvs` command line: thin layers over the public API (see `egvs.api`)."""
