"""Rendering: published (already protected) values in, file bytes out. Nothing here counts."""
