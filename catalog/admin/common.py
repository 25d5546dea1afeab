"""Shared pieces of the catalog admin.

The read-only bases are the project's (``pointsmall.kernel.admin``); the colours of order
states, refund states and warnings are classes of ``static/css/admin.css``.
"""
