"""Command line: one module per subcommand; logging is configured only here."""
