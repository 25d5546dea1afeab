"""The project's kernel: small pieces every app shares, one of each.

Every app (``points`` included) may import ``pointsmall.kernel``; the kernel imports no app
and nothing else of ``pointsmall`` (import-linter contracts in ``pyproject.toml``), so it
sits below the ledger in the layers. See docs/decisions/0023-one-rule-one-place.md.
"""
