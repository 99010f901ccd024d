"""Load and fault tools for Amtsweg: ``amtsweg bench …`` and ``amtsweg chaos``.

Not part of the product: nothing in contracts, events, services, receiver or deploy
imports this package (an import-linter contract). The ``amtsweg`` command finds its
commands through the ``amtsweg.cli`` entry points; the plots need the ``harness`` extra.
"""
