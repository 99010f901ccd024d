"""The ledger: the Submission aggregate, its hash-chained events, the outbox relay.

Services import from here; this package imports only ``contracts``.
"""
