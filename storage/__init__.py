"""All SQL of branchbot: the connection, numbered migrations and repositories."""
