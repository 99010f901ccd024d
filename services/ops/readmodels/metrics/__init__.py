"""Metrics: Prometheus exposition for every Amtsweg process, and the ledger-wide figures.

Every process has its own registry (FastStream's Kafka middleware, the relay's counter,
process and GC figures) served on ``/metrics``: by the HTTP app where the intake runs,
else by a small server on ``AMTSWEG_METRICS_PORT``. The ``metrics`` service adds what
belongs to the deployment as a whole, derived from the ledger and the broker: submissions
by status, stage latencies, rejections, relay and consumer lag, deliveries awaiting a
receipt, dead letters.
"""
