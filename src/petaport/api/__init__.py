"""The REST API under /v1: thin FastAPI routers over the services."""
