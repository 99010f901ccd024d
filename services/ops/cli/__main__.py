"""``python -m services.ops.cli``: the ``amtsweg`` command."""

from services.ops.cli.main import main

main()
