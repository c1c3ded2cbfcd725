"""One module per area, each with a Blueprint `bp` (and optionally `NAV`); app.py registers them all."""
