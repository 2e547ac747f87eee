"""Data preprocessing (``keras.preprocessing``): ``nnfast.preprocessing.image``."""
from nnfast.preprocessing import image
