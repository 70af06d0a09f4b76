"""The registry (the NCMEC role): anonymous cases, platform accounts, the hash feed, reports."""
