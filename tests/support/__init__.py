"""Helpers shared by the tests. Fixtures live in the conftest.py files; nothing here is one."""
