"""Private file helpers: atomic writes and the checks that run before any file is loaded."""
