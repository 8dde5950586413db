"""Running the model: one run, replicates, sweeps, live runs, and writing outputs."""
