"""One household on two channels: /link joins its identities into one person."""
