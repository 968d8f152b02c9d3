"""Seeds mixed from several numbers, shared by the data loader and the training engine."""

from __future__ import annotations

import numpy as np

# First entry of derive_seed for each consumer, so that their streams never coincide.
SEED_GLOBAL, SEED_FAKE_POOL, SEED_LOADER = 1, 2, 3


def derive_seed(*numbers: int) -> int:
    """A seed in [0, 2**63) mixed from ``numbers``, e.g. (tag, seed, rank, epoch).

    Examples:
        >>> derive_seed(0, 1) == derive_seed(0, 1) != derive_seed(0, 2)
        True
    """
    words = np.random.SeedSequence(list(numbers)).generate_state(2, dtype=np.uint64)
    return int(words[0]) >> 1
