"""Repositories: every read takes a Scope; rows outside it are "not found"."""
