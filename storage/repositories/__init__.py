"""Repositories: every SQL statement of branchbot, returning domain records."""
