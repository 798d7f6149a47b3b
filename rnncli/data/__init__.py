"""Corpora: where they come from, how they are read, split and cached."""
