"""Performance benchmarks behind ``videomind bench NAME``: each module exposes ``add_arguments(parser)`` and
``run(args) -> dict`` (JSON-safe); ``common`` adds machine and version facts and writes the JSON report."""
