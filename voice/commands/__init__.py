"""The command line: one module per `backcoach` command."""
