"""Read models: one folder per view (view, projection, postgres, sqlite) and their runtime."""
