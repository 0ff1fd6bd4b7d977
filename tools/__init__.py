"""Generators for files kept in the repository (the reference docs, the sample overlays); not part of the package."""
