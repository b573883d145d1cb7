"""The domain: aggregates, events, values, errors and ports. Standard library and eventsourcing only."""
