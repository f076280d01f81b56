"""bot.outbox.enqueue."""
