"""ledgerdesk: an email-first help desk on an event-sourced core."""

__version__ = "0.1.0"
