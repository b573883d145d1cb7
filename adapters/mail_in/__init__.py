"""Inbound mail: parsing, the intake pipeline and its channels (pipe, drop folder, IMAP, webhook)."""
