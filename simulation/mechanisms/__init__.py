"""The mechanisms that make structures differ, one module each, every one switchable off."""
