"""A standalone library of custom Keras layers: each one a well-made example of a Keras pattern."""
