"""The domain: aggregates, events, values, errors and ports (stdlib and eventsourcing only)."""
