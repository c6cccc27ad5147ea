"""Memory planning: lifetimes, order, in-place, streaming and placement of the arena (docs/memory.md)."""
