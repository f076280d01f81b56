"""bot.datacare.service."""
