"""Scheduled and queued work (huey): sealing, and later intake, outbox, SLA sweeps, digests."""
