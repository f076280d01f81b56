"""bot.answers.service."""
