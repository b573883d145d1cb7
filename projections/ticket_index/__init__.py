"""The ticket index: lists, search and dashboard counters over every ticket."""
