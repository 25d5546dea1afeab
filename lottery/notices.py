"""What the lottery tells members (history texts of draws and prizes, inbox messages), one
function per notice, rendered in the reader's language (points.notices, decision 0019)."""

from __future__ import annotations
