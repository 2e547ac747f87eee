"""Keras 2's ``keras.layers.merge`` module path: the merge layers and their functional
forms (``add([a, b])``, ``concatenate([a, b], axis=-1)``, ...).

Example:
    >>> from nnfast.layers.merge import concatenate
    >>> merged = concatenate([branch_a, branch_b])
"""
from nnfast.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                                   Subtract, add, average, concatenate, dot, maximum, minimum,
                                   multiply, subtract)

__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply",
           "Subtract", "add", "average", "concatenate", "dot", "maximum", "minimum",
           "multiply", "subtract"]
