"""HTTP routes: thin wrappers that authenticate, call a service function and shape the JSON."""
