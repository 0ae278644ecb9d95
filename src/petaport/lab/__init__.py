"""The AI Lab: ready-to-run, versioned job recipes (``templates``), the programs they run
(``programs``, executed inside jobs only) and the small data they ship (``data``)."""
