"""Inbound mail: parsing, the intake pipeline and its channels (pipe, drop, IMAP, webhook)."""
