"""Reconciler: compare every linked campaign with Instantly and record drift.

Invariant: only a pass that listed *every* remote page may open or resolve
findings; partial data would invent `remote_missing` drift or clear real
findings. One pass at a time across replicas (a Postgres advisory lock).
"""
