"""Signed webhooks (Standard Webhooks 1.0): signatures, and SSRF-safe delivery attempts."""
