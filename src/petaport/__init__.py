"""Petaport: software to run a commercial, multi-tenant AI supercomputing centre."""

__version__ = "0.1.0"
