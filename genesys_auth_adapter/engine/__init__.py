"""The token engine: clock, clock offset, token values, the token manager and the retry policy.

No HTTP library in here; time comes from one injected clock. The public names are exported by the
top-level package; the modules here are imported directly by the rest of the library and its tests.
"""
