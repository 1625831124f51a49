"""Deciders (pure domain logic), the event store over JetStream and the actor runtime."""
