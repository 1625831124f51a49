"""One module per aggregate: state, ``initial``, ``evolve``, ``decide`` and its Decider."""
