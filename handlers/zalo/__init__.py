"""handlers.zalo.channel."""
