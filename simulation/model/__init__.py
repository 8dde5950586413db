"""OrgModel, which wires the engine and the mechanisms, and the records a run leaves."""
