"""bot.form.steps."""
