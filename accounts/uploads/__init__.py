"""What members and operators upload: one hardened image decoder and the per-member upload rate.

Sits below ``accounts`` and the feature apps (they all may import it) and above the ledger:
it imports nothing of ours but ``pointsmall.kernel.errors`` for the shared error base. Its
refusals are in ``accounts.uploads.exceptions``.
"""
