"""Outsourced mode: contributors submit shares to a few compute servers and leave."""
