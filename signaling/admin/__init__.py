"""Staff access: who is asking (the platform's API key or a signed-in staff member) and
what they may see (the city, one district, one school)."""
