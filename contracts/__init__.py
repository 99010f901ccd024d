"""Wire contracts of Amtsweg: versioned pydantic models and topic names.

This package is the bottom layer: it imports nothing internal. Domain events of the
ledger are not wire messages; each service translates between the two in one place.
"""
