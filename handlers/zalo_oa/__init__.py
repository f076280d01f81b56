"""The Zalo Official Account channel: webhook in, consultation messages / ZNS out (see docs/zalo.md)."""
