"""How to run the stack: the embedded single-node launcher (`unpod up`) and its configs."""
