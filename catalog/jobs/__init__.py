"""The seeds' daily jobs (profile sync, list membership, deletions, opt-outs) as supervised runs."""
