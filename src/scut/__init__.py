"""Scut: a victim-identification database for child-abuse investigations."""

__version__ = "0.1.0"
