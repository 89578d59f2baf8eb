"""Datasets: one parse-only source per dataset, a registry, role conversations, collators and the synthetic world."""
