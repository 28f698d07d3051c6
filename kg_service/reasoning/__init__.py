"""Rank 4, the reasoning: the eligibility derivation (`pipeline`: the `queries/eligibility/*.rq` steps, run in
stages over a patient graph and the knowledge graph) and the contract's answer built from its rows (`answer`).
It names no drug, gene, step or threshold: those are in the graph. May import `core`, `store`, `graph`,
`patient`."""
