"""Use cases: load state, ask a pure core to decide, apply the decision in one transaction."""
