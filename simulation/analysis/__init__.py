"""From records to numbers: KPIs, statistics over replicates, comparisons and sweeps."""
