"""Adapters: concrete I/O behind the domain's ports."""
