"""The shared language of the stack: events, commands, wire frames, subject names.

No I/O lives here; every other layer imports from this package and nothing else
is imported by it (msgspec only).
"""
