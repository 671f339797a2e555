"""Market data: candles, bundled data files, the universe, and feeds (replay for sim)."""
