"""Everything that needs Keras while editing: inference, building, importing, inspection."""
