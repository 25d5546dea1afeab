"""Members' privacy: the policy page, the download of a member's own data and account deletion
(docs/decisions/0052). It spans every app, so it lives beside them in the project package:
reads here are read-only, and every write goes through the owning app's services."""
