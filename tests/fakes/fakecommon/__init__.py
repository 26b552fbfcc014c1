"""Pieces shared by every fake server: the loopback HTTP server and fault injection."""
