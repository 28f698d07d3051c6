"""Rank 6, cohorts: screening many patients from NDJSON into one CSV (`screening`) and the synthetic cohort
generator (`synthetic`). May import every lower rank (the reasoner in `kg_service.service` ties them)."""
