"""Execution backends: adapters that implement ``petaport.services.ports.Backend``.

One package per backend (``local``, ``fake``; later ``slurm``), chosen by name through the explicit
registry in ``petaport.backends.registry``. Every backend passes ``tests/contract``.

Invariants: a backend never decides placement (the scheduler does); it applies the allocation it
is given, and ``cancel`` is idempotent.
"""
