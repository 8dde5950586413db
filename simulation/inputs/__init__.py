"""What a user hands Converge: scenarios, experiment files and lever settings, read safely."""
