"""Firstline: an open-source IT help desk."""

__version__ = "0.1.0"
