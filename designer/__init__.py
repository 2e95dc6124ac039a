"""Keras model designer: draw a Keras model as a graph, see its shapes, get its code, train it."""

__version__ = "0.1.0"
