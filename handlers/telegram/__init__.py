"""handlers.telegram.channel."""
