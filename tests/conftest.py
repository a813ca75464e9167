"""Shared test fixtures for the dub-mock repository."""

pytest_plugins = ["pytester"]
