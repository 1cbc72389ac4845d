"""Transports: how blocks and notices travel from clients to servers."""
