"""bot.digest.service."""
