"""siren-sync: pays WordPress collaborators from scheduled reward pools (Siren distributors)."""
