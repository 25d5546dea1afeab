"""What the tasks app does when other apps announce something (their signals; the arrows go one way)."""
