"""``amtsweg failover``: SIGKILL the active singletons under load, measure the takeovers."""
