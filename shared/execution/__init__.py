"""Execution: the Broker protocol, the sim venue, order bookkeeping and position accounting."""
