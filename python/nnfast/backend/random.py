"""Seeding. ``nnfast.utils.set_random_seed`` seeds Python, NumPy and this generator, from
which initializers and dropout layers draw their seeds, so the same seed gives the same run."""
import random as _pyrandom

import numpy as np

_generator = np.random.default_rng()
# The nnfast.random.SeedGenerator behind `seed=None` draws; set_seed drops it so the next
# draw makes a new one seeded from the freshly seeded generator.
global_seed_generator = None


def set_seed(seed):
    global _generator, global_seed_generator
    global_seed_generator = None
    seed = int(seed)
    _pyrandom.seed(seed)
    np.random.seed(seed % (2**32))
    _generator = np.random.default_rng(seed)


def generator():
    """The global NumPy Generator that initializers draw from."""
    return _generator


def draw_seed():
    """A fresh 63-bit seed from the global generator (for layers that own a stream)."""
    return int(_generator.integers(0, 2**63 - 1))


def make_generator(seed=None):
    """A Generator for an explicit ``seed``, or one seeded from the global generator."""
    return np.random.default_rng(draw_seed() if seed is None else int(seed))
