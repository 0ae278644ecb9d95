"""Persistence: SQLAlchemy 2 tables, repositories returning domain objects, Alembic migrations."""
