"""Outgoing mail: the message builder and the transports (file, SMTP, SendGrid)."""
