"""``amtsweg bench``: benchmarks that print figures and write JSON and plots."""
