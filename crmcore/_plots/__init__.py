"""Private plot implementations; the public entry point is :mod:`crmcore.plotting`."""
