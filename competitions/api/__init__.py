"""The REST API (DRF): the browser pages' selectors and services behind token authentication."""
