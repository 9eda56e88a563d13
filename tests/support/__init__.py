"""Test support that must load before Django (see environment.py)."""
