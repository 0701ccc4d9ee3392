"""Pure rules of branchbot: no Telegram, no SQL."""
