"""Mail rules as pure functions: identities, classification, reply extraction, HTML."""
