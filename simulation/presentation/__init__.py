"""Charts and tables for people: Altair specs shared by the app and reports."""
