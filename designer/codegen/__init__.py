"""Graph -> Python source text (Functional, subclassed, Sequential, training script). Keras-free."""
