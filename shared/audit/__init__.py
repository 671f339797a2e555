"""The SQLite audit log (enhanced_trading.db): connection, schema migrations, writes and queries."""
