"""The local backend: attempts run as processes on this machine, each under a supervisor.

``backend.LocalBackend`` is the adapter; ``supervisor`` is the per-attempt process it starts;
``records`` is their on-disk format; ``procfs`` reads ``/proc``; ``inventory`` finds the GPUs.
This package's ``__init__`` imports nothing, so the supervisor starts fast.
"""
