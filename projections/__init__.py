"""Read models: consumers of the event log that build SQLite tables for REST queries."""
