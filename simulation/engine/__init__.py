"""The moving parts: the event list, work items, units, people and how they are organised."""
