"""The ground floor: the vocabulary every layer shares (ids, for now), importing nothing of shopsim."""
