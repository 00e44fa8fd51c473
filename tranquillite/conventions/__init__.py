"""The conventions' end (C2, C8, C9): lifecycle, use stops, destruction with a signed attestation,
contractors' temporary hand-overs and the change-of-nature gate.

Domain and storage only (no Dagster): `lifecycle` (date arithmetic), `registry` and `schema` (the
app store's tables), `usage` (hooks that stop use), `reminders`, `nature` (C2), `contractors` (C8),
`destruction` (inventory, fingerprints, purge per store), `scanner` (the independent verification,
which does not import the deletion code), `attestation` (PDF + signed JSON) and `keys`.
"""
