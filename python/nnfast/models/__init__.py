"""Models: ``Sequential`` and ``Model``."""
from nnfast.models.model import Model
from nnfast.models.sequential import Sequential
