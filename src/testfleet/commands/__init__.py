"""The ``testfleet`` subcommands that read the history: one module per command.

Each module offers ``add_parser(commands)``, which adds its subparser, and
``run(options)``, which runs it and returns the exit code.  ``testfleet.cli``
dispatches to them; they import the layers they need lazily.
"""
