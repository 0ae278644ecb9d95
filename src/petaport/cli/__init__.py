"""The ``petaport`` command line: Typer + Rich over ``petaport.client``."""
