"""Declarations the rest of the package reads: each thing the model has, declared once."""
