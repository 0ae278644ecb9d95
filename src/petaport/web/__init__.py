"""The portal: server-rendered pages (Jinja2 + htmx) in English and Traditional Chinese."""
