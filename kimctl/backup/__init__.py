"""Backup and restore of a node (`kim node backup|restore`; docs/operations.md, "Backup and
restore"): `archive` is the encrypted file, `cut` what keeps a copy taken while the node writes
consistent, `node` collects a node's parts and puts them back."""
