"""``amtsweg cluster``: Amtsweg on three Kafka brokers and PostgreSQL, and chaos on it."""
