"""Pure domain model: identifiers, tenancy, jobs, inventory and errors. Standard library only."""
