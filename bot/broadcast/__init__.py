"""bot.broadcast.service."""
