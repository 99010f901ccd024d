"""Helpers for the test fixtures: throwaway PostgreSQL, broker plumbing."""
