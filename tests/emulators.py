"""Fixtures that start the storage emulators on 127.0.0.1 (filled in by the store issue)."""
