"""What the stage workers share: batches, their retry, backoff, and the Kafka side of the relay.

The stage services (intake's Kafka intake, validation, routing, delivery) import this
package; it imports ``events`` and ``contracts``, never a service.
"""
