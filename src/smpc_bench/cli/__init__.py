"""The ``smpc-bench`` command, one module per subcommand."""
