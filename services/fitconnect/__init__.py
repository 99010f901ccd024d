"""FIT-Connect facade: FITKO's Submission API v1 and Routing API over Amtsweg's ledger.

Mounted under ``/fit-connect/`` beside Amtsweg's own ``/v1/…``. Like every stage service it
imports no other service: what it needs of routing (the directory) and delivery (keys) the
composition root hands it through the ports this package defines.
"""
