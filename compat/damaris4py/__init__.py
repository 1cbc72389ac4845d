"""Upstream-compatible ``damaris4py`` package: user scripts import it unchanged."""
