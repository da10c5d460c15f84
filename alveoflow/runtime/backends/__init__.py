"""(package; see modules)."""
