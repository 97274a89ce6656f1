"""Public functions: validate once, coerce to kernel layout, pick the backend, call one kernel."""
