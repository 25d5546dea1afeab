"""The audit trail's reader and its one record of its own (docs/decisions/0053-audit-trail.md).

Each kind of change is recorded where it happens, by one mechanism per kind: ledger entries,
order events, stock movements and cash refunds by their services; rule, campaign, product and
price edits by django-simple-history; admin edits and admin actions by Django's LogEntry; power
(staff, superuser, groups, permissions) by ``PrivilegeChange`` here. This package adds the
privilege records, logs every admin action, and builds the staff's audit pages from all of them.
No app imports it.
"""
