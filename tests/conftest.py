"""Shared fixtures; the bigger ones live in tests/fixtures/ as plugins."""

pytest_plugins = [
    "tests.fixtures.repos",
    "tests.fixtures.dovecot",
    "tests.fixtures.certs",
]
